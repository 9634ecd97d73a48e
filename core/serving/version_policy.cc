#include "core/serving/version_policy.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace easymoney {

absl::StatusOr<VersionPolicy> VersionPolicy::Parse(absl::string_view policy) {
  if (policy == "latest") return VersionPolicy(0);
  absl::string_view rest = policy;
  int64_t pinned = 0;
  if (!absl::ConsumePrefix(&rest, "pinned:") || !absl::SimpleAtoi(rest, &pinned) || pinned < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("version policy '", policy, "' is neither 'latest' nor 'pinned:<positive version>'"));
  }
  return VersionPolicy(pinned);
}

std::vector<int64_t> VersionPolicy::LoadOrder(const std::vector<int64_t>& on_disk, int64_t newest_loaded) const {
  if (pinned_version_ > 0) return {pinned_version_};
  std::vector<int64_t> order;
  for (auto it = on_disk.rbegin(); it != on_disk.rend() && *it > newest_loaded; ++it) order.push_back(*it);
  return order;
}

int64_t VersionPolicy::Stable(int64_t routed_stable, const std::set<int64_t>& loaded, int64_t serving_stable) const {
  int64_t stable = routed_stable;
  if (stable <= 0) stable = pinned_version_ > 0 ? pinned_version_ : (loaded.empty() ? 0 : *loaded.rbegin());
  return loaded.contains(stable) ? stable : serving_stable;
}

}  // namespace easymoney
