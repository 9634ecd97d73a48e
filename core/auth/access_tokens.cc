#include "core/auth/access_tokens.h"

#include <openssl/rand.h>

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/util/sha256.h"

namespace easymoney {
namespace {

constexpr absl::string_view kHashPrefix = "sha256:";
constexpr size_t kMaxNameLength = 64;

bool IsValidName(absl::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '@' && c != '-') {
      return false;
    }
  }
  return true;
}

bool IsLowerHex(absl::string_view text) {
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

absl::StatusOr<uint32_t> ParseRoles(absl::string_view text) {
  uint32_t roles = 0;
  for (absl::string_view role : absl::StrSplit(text, ',')) {
    if (role == "recommend") {
      roles |= static_cast<uint32_t>(Role::kRecommend);
    } else if (role == "admin") {
      roles |= static_cast<uint32_t>(Role::kAdmin);
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown role \"", absl::CHexEscape(role), "\" (roles: recommend, admin)"));
    }
  }
  return roles;
}

}  // namespace

const char* RoleName(Role role) { return role == Role::kAdmin ? "admin" : "recommend"; }

absl::StatusOr<AccessTokens> AccessTokens::Parse(absl::string_view text) {
  AccessTokens tokens;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    if (const size_t comment = line.find('#'); comment != absl::string_view::npos) line = line.substr(0, comment);
    const std::vector<absl::string_view> fields = absl::StrSplit(line, absl::ByAnyChar(" \t\r"), absl::SkipEmpty());
    if (fields.empty()) continue;
    auto refuse = [line_number](absl::string_view why) {
      return absl::InvalidArgumentError(absl::StrCat("token file line ", line_number, ": ", why));
    };
    if (fields.size() != 3) return refuse("expected \"sha256:<hex> <name> <roles>\"");
    if (!absl::StartsWith(fields[0], kHashPrefix)) return refuse("the hash must start with \"sha256:\"");
    const absl::string_view hash = fields[0].substr(kHashPrefix.size());
    if (hash.size() != 64 || !IsLowerHex(hash)) return refuse("the hash must be 64 lower-case hex digits");
    if (!IsValidName(fields[1])) return refuse("names are 1-64 of [A-Za-z0-9._@-]");
    absl::StatusOr<uint32_t> roles = ParseRoles(fields[2]);
    if (!roles.ok()) return refuse(roles.status().message());
    const auto [it, inserted] = tokens.by_hash_.try_emplace(std::string(hash), TokenIdentity{std::string(fields[1]), *roles});
    if (!inserted) return refuse(absl::StrCat("the same token is listed again (first as \"", it->second.name, "\")"));
  }
  return tokens;
}

const TokenIdentity* AccessTokens::Find(absl::string_view token) const {
  if (token.empty()) return nullptr;
  const auto it = by_hash_.find(Sha256Hex(token));
  return it == by_hash_.end() ? nullptr : &it->second;
}

absl::StatusOr<std::string> NewAccessToken() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) return absl::InternalError("the OS random generator failed");
  return absl::WebSafeBase64Escape(absl::string_view(reinterpret_cast<const char*>(bytes), sizeof(bytes)));
}

absl::StatusOr<std::string> AccessTokenLine(absl::string_view token, absl::string_view name, absl::string_view roles) {
  if (token.empty()) return absl::InvalidArgumentError("empty token");
  if (!IsValidName(name)) return absl::InvalidArgumentError("names are 1-64 of [A-Za-z0-9._@-]");
  absl::StatusOr<uint32_t> parsed = ParseRoles(roles);
  if (!parsed.ok()) return parsed.status();
  return absl::StrCat(kHashPrefix, Sha256Hex(token), "  ", name, "  ", roles);
}

absl::string_view BearerToken(absl::string_view authorization) {
  constexpr absl::string_view kScheme = "bearer ";
  if (authorization.size() <= kScheme.size() ||
      !absl::EqualsIgnoreCase(authorization.substr(0, kScheme.size()), kScheme)) {
    return {};
  }
  return absl::StripAsciiWhitespace(authorization.substr(kScheme.size()));
}

}  // namespace easymoney
