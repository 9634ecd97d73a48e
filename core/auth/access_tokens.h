#ifndef EASYMONEY_CORE_AUTH_ACCESS_TOKENS_H_
#define EASYMONEY_CORE_AUTH_ACCESS_TOKENS_H_

#include <cstdint>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/auth/secret_file.h"

namespace easymoney {

// What a bearer token allows. A token holds any set of roles; `admin` does
// not imply `recommend` (an operator's token should not double as a
// backend's, and the reverse).
enum class Role : uint32_t {
  kRecommend = 1,  // RecommendProducts, batch, feedback, model info.
  kAdmin = 2,      // ModelAdmin.
};

const char* RoleName(Role role);

struct TokenIdentity {
  std::string name;  // Who holds the token: the audit log's "who".
  uint32_t roles = 0;
  bool Has(Role role) const { return (roles & static_cast<uint32_t>(role)) != 0; }
};

// The parsed token file: SHA-256 hashes of bearer tokens, never the tokens
// themselves, so the file (and a backup or a leaked copy of it) grants
// nothing. One token per line; '#' starts a comment:
//
//   # sha256:<hex of the token>  <name>  <role>[,<role>]
//   sha256:5e88...42d8  web-backend  recommend
//   sha256:9b71...f1c4  ops-alice    admin
//
// Names are [A-Za-z0-9._@-]{1,64} (they go into audit records), roles are
// `recommend` and `admin`. Tokens are random and long (see NewAccessToken),
// so an unsalted hash is enough: there is nothing to brute-force.
//
// Immutable once parsed; thread-safe.
class AccessTokens {
 public:
  // Errors: INVALID_ARGUMENT naming the line for anything malformed, an
  // unknown role or a hash listed twice.
  static absl::StatusOr<AccessTokens> Parse(absl::string_view text);
  static constexpr const char* kFileKind = "token file";
  static constexpr const char* kEntries = "tokens";

  // The identity holding `token`, or null.
  const TokenIdentity* Find(absl::string_view token) const;
  int size() const { return static_cast<int>(by_hash_.size()); }

 private:
  absl::flat_hash_map<std::string, TokenIdentity> by_hash_;  // Key: lower-case hex SHA-256.
};

// A new random token: 32 bytes from the OS's CSPRNG, base64url without
// padding (43 characters, safe in HTTP headers and shell arguments).
absl::StatusOr<std::string> NewAccessToken();

// The token-file line for `token`: "sha256:<hex>  <name>  <roles>".
// Errors: INVALID_ARGUMENT for a name or role list Parse would refuse.
absl::StatusOr<std::string> AccessTokenLine(absl::string_view token, absl::string_view name,
                                            absl::string_view roles);

// The token of an HTTP "Authorization: Bearer <token>" value, or empty when
// the value is not a bearer credential. The scheme is case-insensitive
// (RFC 7235).
absl::string_view BearerToken(absl::string_view authorization);

// The token file on disk, re-read when it changes (secret_file.h).
using AccessTokenFile = SecretFile<AccessTokens>;

}  // namespace easymoney

#endif  // EASYMONEY_CORE_AUTH_ACCESS_TOKENS_H_
