#ifndef EASYMONEY_CORE_SERVING_REQUEST_ID_H_
#define EASYMONEY_CORE_SERVING_REQUEST_ID_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/container/inlined_vector.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/auth/signing_keys.h"
#include "core/serving/canary_router.h"

namespace easymoney {

// What an answer was: the facts a request id carries and proves.
struct AnswerClaim {
  int64_t model_version = 0;
  Variant variant = Variant::kStable;
  int64_t served_unix_ms = 0;
  // Catalogue indices (in model_version) of the products answered.
  absl::InlinedVector<int32_t, 16> product_indices = {};
  bool operator==(const AnswerClaim&) const = default;
};

// Request ids that carry their own proof, so that any replica can tell an
// answer this service gave from a forged one without shared state.
//
// An id is base64url(payload || tag): the payload holds a format byte, the
// signing key's id, the claim and 48 random bits (two identical answers get
// different ids); the tag is HMAC-SHA256 over the payload and the canonical
// customer id (CanonicalCustomerId), truncated to 128 bits. The customer is
// bound by the tag but not carried, so ids say nothing about who they are
// for. About 40-60 characters for a top-5 answer.
//
// Thread-safe; `keys` is called on every Issue and Verify (a lock-free
// snapshot, SecretFile::Current).
class RequestIdSigner {
 public:
  using KeySource = std::function<std::shared_ptr<const SigningKeys>()>;
  explicit RequestIdSigner(KeySource keys) : keys_(std::move(keys)) {}

  std::string Issue(const AnswerClaim& claim, absl::string_view customer_id) const;
  // The claim of `request_id` if a current key signed it for `customer_id`.
  // Errors: INVALID_ARGUMENT saying whether the id is malformed, names a key
  // this server does not hold, or does not belong to the customer (or was
  // altered).
  absl::StatusOr<AnswerClaim> Verify(absl::string_view request_id, absl::string_view customer_id) const;

 private:
  KeySource keys_;
};

}  // namespace easymoney

#endif  // EASYMONEY_CORE_SERVING_REQUEST_ID_H_
