#ifndef EASYMONEY_CORE_SERVING_ROUTER_H_
#define EASYMONEY_CORE_SERVING_ROUTER_H_

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "easymoney/model/v1/routing.pb.h"

namespace easymoney {

// The routing in force, as the admin API reports it.
struct RoutingState {
  int64_t stable_version = 0;  // Serving stable version (0: none yet).
  int64_t canary_version = 0;
  double canary_percent = 0;
  std::string salt;
  int64_t previous_stable_version = 0;  // Where Rollback goes.
  int64_t shadow_version = 0;
  double shadow_percent = 0;
  easymoney::model::v1::CanaryAnalysis analysis;
  std::string last_auto_rollback;
  // Versions the routing names that cannot serve, each with why and what
  // serves instead (ModelManager keeps them current).
  std::vector<std::string> routing_problems;
};

// A routing change requested through the admin API.
struct RoutingChange {
  int64_t stable_version = 0;  // 0 keeps the current stable, -1 returns to the version policy.
  int64_t canary_version = 0;  // 0 ends the rollout.
  double canary_percent = 0;
  std::string salt;            // Empty keeps the current salt.
  int64_t shadow_version = 0;  // 0 ends shadowing.
  double shadow_percent = 0;
  easymoney::model::v1::CanaryAnalysis analysis;
};

// The versions that serve under a routing, once the stable one is decided.
struct RoutedVersions {
  int64_t stable = 0;
  int64_t canary = 0;  // 0: no rollout.
  int64_t shadow = 0;  // 0: no shadow.
};

// The router: what a routing config means for the versions that serve, and
// the routing that each admin action leads to. Pure functions of their
// arguments (the manager holds the config, persists it with RoutingFile and
// applies it), so every rule here is testable without files or threads.
//
//   absl::StatusOr<RoutingConfig> next = ChangedRouting(config, change, serving_stable);
//   RoutedVersions routed = Route(*next, stable, loaded);
//
// Thread-safe (stateless).

// Checks `change` (percents within 0..100, versions >= -1 / >= 0) and applies
// it to `config`. Starting a rollout without naming a stable version pins
// `serving_stable`, so a newer version appearing mid-rollout does not
// replace it unannounced. INVALID_ARGUMENT for a malformed change. (Whether
// the named versions can serve is the manager's to check.)
absl::StatusOr<easymoney::model::v1::RoutingConfig> ChangedRouting(const easymoney::model::v1::RoutingConfig& config,
                                                                   const RoutingChange& change,
                                                                   int64_t serving_stable);

// The canary becomes the pinned stable; the rollout ends.
easymoney::model::v1::RoutingConfig PromotedRouting(const easymoney::model::v1::RoutingConfig& config,
                                                    int64_t canary_version);

// The rollout of `canary_version` ends, `serving_stable` stays pinned, and
// `reason` is recorded (with `now`) as last_auto_rollback when not empty.
easymoney::model::v1::RoutingConfig AbandonedRouting(const easymoney::model::v1::RoutingConfig& config,
                                                     int64_t serving_stable, int64_t canary_version,
                                                     const std::string& reason, absl::Time now);

// `stable_version` becomes the pinned stable; any rollout ends.
easymoney::model::v1::RoutingConfig RolledBackRouting(const easymoney::model::v1::RoutingConfig& config,
                                                      int64_t stable_version);

// The canary and shadow versions `config` names that can serve beside
// `stable`: loaded and not the stable version itself (0 otherwise).
RoutedVersions Route(const easymoney::model::v1::RoutingConfig& config, int64_t stable,
                     const std::set<int64_t>& loaded);

}  // namespace easymoney

#endif  // EASYMONEY_CORE_SERVING_ROUTER_H_
