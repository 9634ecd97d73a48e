#include "core/auth/signing_keys.h"

#include <openssl/rand.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace easymoney {
namespace {

bool IsIdCharacter(char c) { return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'; }

bool IsHex(absl::string_view text) {
  for (char c : text) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<SigningKeys> SigningKeys::Parse(absl::string_view text) {
  SigningKeys keys;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    if (const size_t hash = line.find('#'); hash != absl::string_view::npos) line = line.substr(0, hash);
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    std::vector<absl::string_view> fields = absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    const auto error = [&](absl::string_view what) {
      return absl::InvalidArgumentError(absl::StrCat("line ", line_number, ": ", what));
    };
    if (fields.size() != 2) return error("expected \"KEY_ID HEX_SECRET\"");
    const absl::string_view id = fields[0];
    const absl::string_view hex = fields[1];
    if (id.size() > kMaxIdBytes || !std::all_of(id.begin(), id.end(), IsIdCharacter)) {
      return error("the key id must be 1-8 of A-Z a-z 0-9 _ -");
    }
    if (hex.size() % 2 != 0 || !IsHex(hex)) return error("the secret is not hexadecimal");
    if (hex.size() / 2 < kMinSecretBytes) {
      return error(absl::StrCat("the secret has ", hex.size() / 2, " bytes; at least ", kMinSecretBytes,
                                " (openssl rand -hex 32)"));
    }
    if (keys.Find(id) != nullptr) return error(absl::StrCat("key id ", id, " appears twice"));
    keys.keys_.push_back(Key{.id = std::string(id), .secret = absl::HexStringToBytes(hex)});
  }
  if (keys.keys_.empty()) return absl::InvalidArgumentError("no key: expected lines \"KEY_ID HEX_SECRET\"");
  return keys;
}

absl::StatusOr<SigningKeys> SigningKeys::Random() {
  std::string secret(kMinSecretBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(secret.data()), static_cast<int>(secret.size())) != 1) {
    return absl::InternalError("the OS random generator failed");
  }
  SigningKeys keys;
  keys.keys_.push_back(Key{.id = "local", .secret = std::move(secret)});
  return keys;
}

const SigningKeys::Key* SigningKeys::Find(absl::string_view id) const {
  for (const Key& key : keys_) {
    if (key.id == id) return &key;
  }
  return nullptr;
}

}  // namespace easymoney
