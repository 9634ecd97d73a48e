#ifndef EASYMONEY_CORE_SERVING_VERSION_POLICY_H_
#define EASYMONEY_CORE_SERVING_VERSION_POLICY_H_

#include <cstdint>
#include <set>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace easymoney {

// Which version serves as stable when routing.json names none (TF Serving's
// version policy): the newest valid version ("latest") or a fixed one
// ("pinned:<version>"). A version routing.json names always wins, and a
// version that is not loaded never serves: the one serving goes on.
//
//   auto policy = VersionPolicy::Parse("latest");
//   for (int64_t version : policy->LoadOrder(on_disk, newest_loaded)) {
//     if (Load(version)) break;
//   }
//   int64_t stable = policy->Stable(routed_stable, loaded, serving_stable);
//
// Immutable after Parse; thread-safe.
class VersionPolicy {
 public:
  // "latest" or "pinned:<positive version>"; INVALID_ARGUMENT otherwise.
  static absl::StatusOr<VersionPolicy> Parse(absl::string_view policy);

  // 0 for "latest".
  int64_t pinned_version() const { return pinned_version_; }

  // The versions to try to load, in order, given those on disk (ascending)
  // and the newest one loaded (0: none): the pinned version, or every
  // version newer than the newest loaded, newest first. For "latest" the
  // caller stops at the first that loads: it is the newest valid version.
  std::vector<int64_t> LoadOrder(const std::vector<int64_t>& on_disk, int64_t newest_loaded) const;

  // The version that should serve as stable: `routed_stable` when positive,
  // else the pinned version, else the newest loaded version; then, if that
  // one is not in `loaded`, `serving_stable` (what serves now; 0: none).
  int64_t Stable(int64_t routed_stable, const std::set<int64_t>& loaded, int64_t serving_stable) const;

 private:
  explicit VersionPolicy(int64_t pinned_version) : pinned_version_(pinned_version) {}

  int64_t pinned_version_ = 0;
};

}  // namespace easymoney

#endif  // EASYMONEY_CORE_SERVING_VERSION_POLICY_H_
