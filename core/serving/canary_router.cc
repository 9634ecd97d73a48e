#include "core/serving/canary_router.h"

#include <cmath>

namespace easymoney {

absl::string_view CanonicalCustomerId(absl::string_view customer_id) {
  while (customer_id.size() > 1 && customer_id.front() == '0') customer_id.remove_prefix(1);
  return customer_id;
}

uint32_t CustomerBucket(absl::string_view customer_id, absl::string_view salt) {
  customer_id = CanonicalCustomerId(customer_id);
  uint64_t hash = 14695981039346656037ull;
  auto mix = [&hash](unsigned char byte) {
    hash ^= byte;
    hash *= 1099511628211ull;
  };
  for (char c : salt) mix(static_cast<unsigned char>(c));
  mix(0);
  for (char c : customer_id) mix(static_cast<unsigned char>(c));
  // FNV-1a alone leaves sequential ids (which pk_cids are) unevenly spread
  // over the buckets; MurmurHash3's 64-bit finaliser avalanches every bit.
  hash ^= hash >> 33;
  hash *= 0xff51afd7ed558ccdull;
  hash ^= hash >> 33;
  hash *= 0xc4ceb9fe1a85ec53ull;
  hash ^= hash >> 33;
  return static_cast<uint32_t>(hash % 10000);
}

Variant RouteCustomer(absl::string_view customer_id, absl::string_view salt, double canary_percent) {
  if (!(canary_percent > 0)) return Variant::kStable;
  const auto threshold = static_cast<uint32_t>(std::lround(canary_percent * 100));
  return CustomerBucket(customer_id, salt) < threshold ? Variant::kCanary : Variant::kStable;
}

}  // namespace easymoney
