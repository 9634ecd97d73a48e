#ifndef EASYMONEY_CORE_SERVING_SERVING_SET_H_
#define EASYMONEY_CORE_SERVING_SERVING_SET_H_

#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "core/model/model.h"
#include "core/serving/canary_router.h"
#include "easymoney/model/v1/routing.pb.h"

namespace easymoney {

// What the owner of a ModelManager attaches to each snapshot it publishes:
// the server's metric handles of the snapshot's versions, made once per
// publication off the request path, so a request never pairs a model with
// another version's counters. Derive from it; the owner downcasts its own
// attachment (ServingSet::attached).
class ServingSetAttachment {
 public:
  virtual ~ServingSetAttachment() = default;
};

// What answers requests right now: a stable version and, during a rollout,
// a canary version for a share of customers, plus what the owner attached.
// Immutable once published; a request takes one ServingSet at its start and
// uses only it, so a swap mid-request cannot mix versions and the versions
// stay alive until the request drops it.
//
//   const std::shared_ptr<const ServingSet> serving = manager.Current();
//   const Variant variant = serving->RouteOf(customer_id);
//   Recommend(serving->ModelFor(variant), query);
//
// Thread-safe (immutable).
struct ServingSet {
  std::shared_ptr<const Model> stable;  // Never null in a published set.
  std::shared_ptr<const Model> canary;  // Null when no rollout.
  double canary_percent = 0;
  std::string salt;
  // Scored on a sample of requests for comparison only; null when none.
  std::shared_ptr<const Model> shadow;
  double shadow_percent = 0;
  // The salt of the shadow sample, derived from `salt` once at publication
  // so the request path builds no string.
  std::string shadow_salt;
  // Automatic canary analysis settings of the rollout.
  easymoney::model::v1::CanaryAnalysis analysis;
  // Set by ModelManager::Options::attach before publication; null without.
  std::shared_ptr<const ServingSetAttachment> attachment;

  // The variant and model that answer `customer_id`.
  Variant RouteOf(absl::string_view customer_id) const {
    return canary ? RouteCustomer(customer_id, salt, canary_percent) : Variant::kStable;
  }
  const Model& ModelFor(Variant variant) const { return variant == Variant::kCanary ? *canary : *stable; }
  // Whether `customer_id`'s request is also scored by the shadow version
  // (a hash independent of the canary split).
  bool Shadows(absl::string_view customer_id) const {
    return shadow && RouteCustomer(customer_id, shadow_salt, shadow_percent) == Variant::kCanary;
  }
  // The attachment as the owner's type T (which must be its dynamic type).
  template <typename T>
  const T& attached() const {
    return static_cast<const T&>(*attachment);
  }
};

}  // namespace easymoney

#endif  // EASYMONEY_CORE_SERVING_SERVING_SET_H_
