#include "core/serving/router.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace easymoney {

using easymoney::model::v1::RoutingConfig;

absl::StatusOr<RoutingConfig> ChangedRouting(const RoutingConfig& config, const RoutingChange& change,
                                             int64_t serving_stable) {
  for (const auto& [name, percent] : {std::pair<const char*, double>{"canary_percent", change.canary_percent},
                                      std::pair<const char*, double>{"shadow_percent", change.shadow_percent}}) {
    // Written so that NaN is refused too.
    if (!(percent >= 0 && percent <= 100)) {
      return absl::InvalidArgumentError(absl::StrCat(name, " ", percent, " is outside 0..100"));
    }
  }
  if (change.stable_version < -1 || change.canary_version < 0 || change.shadow_version < 0) {
    return absl::InvalidArgumentError("stable_version must be >= -1, canary_version and shadow_version >= 0");
  }
  RoutingConfig next = config;
  if (change.stable_version == -1) {
    next.set_stable_version(0);
  } else if (change.stable_version > 0) {
    next.set_stable_version(change.stable_version);
  } else if (serving_stable > 0 && next.stable_version() == 0 && change.canary_version > 0) {
    next.set_stable_version(serving_stable);
  }
  next.set_canary_version(change.canary_version);
  next.set_canary_percent(change.canary_version > 0 ? change.canary_percent : 0);
  if (!change.salt.empty()) next.set_salt(change.salt);
  next.set_shadow_version(change.shadow_version);
  next.set_shadow_percent(change.shadow_version > 0 ? change.shadow_percent : 0);
  *next.mutable_analysis() = change.analysis;
  return next;
}

RoutingConfig PromotedRouting(const RoutingConfig& config, int64_t canary_version) {
  // The same routing as rolling back to the canary: pinned, no rollout.
  return RolledBackRouting(config, canary_version);
}

RoutingConfig AbandonedRouting(const RoutingConfig& config, int64_t serving_stable, int64_t canary_version,
                               const std::string& reason, absl::Time now) {
  RoutingConfig next = RolledBackRouting(config, serving_stable);
  if (!reason.empty()) {
    next.set_last_auto_rollback(absl::StrCat(absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", now, absl::UTCTimeZone()),
                                             ": canary ", canary_version, " rolled back: ", reason));
  }
  return next;
}

RoutingConfig RolledBackRouting(const RoutingConfig& config, int64_t stable_version) {
  RoutingConfig next = config;
  next.set_stable_version(stable_version);
  next.set_canary_version(0);
  next.set_canary_percent(0);
  return next;
}

RoutedVersions Route(const RoutingConfig& config, int64_t stable, const std::set<int64_t>& loaded) {
  RoutedVersions routed;
  routed.stable = stable;
  if (stable == 0) return routed;
  const auto serves_beside = [&](int64_t version) { return version != stable && loaded.contains(version); };
  if (serves_beside(config.canary_version())) routed.canary = config.canary_version();
  if (serves_beside(config.shadow_version())) routed.shadow = config.shadow_version();
  return routed;
}

}  // namespace easymoney
