#ifndef EASYMONEY_CORE_AUTH_SIGNING_KEYS_H_
#define EASYMONEY_CORE_AUTH_SIGNING_KEYS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/auth/secret_file.h"

namespace easymoney {

// The secret keys that sign the request ids of answers and verify them when
// feedback names one (core/serving/request_id.h). Every replica behind one
// load balancer reads the same keys (a Kubernetes Secret), so feedback is
// accepted by whichever replica receives it.
//
// File format: one key per line, "KEY_ID HEX_SECRET"; KEY_ID is 1-8 of
// [A-Za-z0-9_-], HEX_SECRET at least 32 bytes as hex; '#' starts a comment.
// The first key signs; every key verifies. Rotation without refusing any
// feedback: add the new key on a later line everywhere, then move it first,
// and remove the old one once the feedback window has passed.
//
// Immutable; thread-safe.
class SigningKeys {
 public:
  struct Key {
    std::string id;
    std::string secret;  // Raw bytes.
  };
  static constexpr const char* kFileKind = "signing key file";
  static constexpr const char* kEntries = "keys";
  static constexpr size_t kMinSecretBytes = 32;
  static constexpr size_t kMaxIdBytes = 8;

  // Errors: INVALID_ARGUMENT naming the line.
  static absl::StatusOr<SigningKeys> Parse(absl::string_view text);
  // One key of 32 random bytes, id "local": for a single server without a
  // key file (its ids verify only on itself, and not after a restart).
  static absl::StatusOr<SigningKeys> Random();

  int size() const { return static_cast<int>(keys_.size()); }
  const Key& signing() const { return keys_.front(); }
  // The key with `id`, or null.
  const Key* Find(absl::string_view id) const;

 private:
  std::vector<Key> keys_;  // Never empty.
};

using SigningKeyFile = SecretFile<SigningKeys>;

}  // namespace easymoney

#endif  // EASYMONEY_CORE_AUTH_SIGNING_KEYS_H_
