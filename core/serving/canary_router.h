#ifndef EASYMONEY_CORE_SERVING_CANARY_ROUTER_H_
#define EASYMONEY_CORE_SERVING_CANARY_ROUTER_H_

#include <cstdint>

#include "absl/strings/string_view.h"

namespace easymoney {

enum class Variant { kStable = 0, kCanary = 1 };
inline constexpr int kNumVariants = 2;

// A pk_cid as the model knows it: "0007" and "7" are the same customer (the
// id is parsed as a number), so leading zeros are dropped before hashing and
// both land on the same variant.
absl::string_view CanonicalCustomerId(absl::string_view customer_id);

// The customer's bucket in [0, 10000): FNV-1a over the salt, a separator and
// the canonical customer id, then MurmurHash3's finaliser. Stable across
// processes, machines and builds (unlike absl::Hash), so every replica
// routes a customer alike.
uint32_t CustomerBucket(absl::string_view customer_id, absl::string_view salt);

// kCanary for the customers whose bucket falls under canary_percent (0..100,
// in steps of 0.01). Thread-safe (pure function).
Variant RouteCustomer(absl::string_view customer_id, absl::string_view salt, double canary_percent);

}  // namespace easymoney

#endif  // EASYMONEY_CORE_SERVING_CANARY_ROUTER_H_
