#ifndef EASYMONEY_CORE_MODEL_MANAGER_H_
#define EASYMONEY_CORE_MODEL_MANAGER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/canary_router.h"
#include "core/model.h"
#include "easymoney/model/v1/routing.pb.h"

namespace easymoney {

// What answers requests right now: a stable version and, during a rollout,
// a canary version for a share of customers. Immutable once published; a
// request takes one ServingSet at its start and uses only it.
struct ServingSet {
  std::shared_ptr<const Model> stable;  // Never null in a published set.
  std::shared_ptr<const Model> canary;  // Null when no rollout.
  double canary_percent = 0;
  std::string salt;
  // Scored on a sample of requests for comparison only; null when none.
  std::shared_ptr<const Model> shadow;
  double shadow_percent = 0;
  // Automatic canary analysis settings of the rollout.
  easymoney::model::v1::CanaryAnalysis analysis;

  // Whether `customer_id`'s request is also scored by the shadow version
  // (a hash independent of the canary split).
  bool Shadows(absl::string_view customer_id) const {
    return shadow && RouteCustomer(customer_id, shadow_salt, shadow_percent) == Variant::kCanary;
  }
  // The salt of the shadow sample, derived from `salt` once at publish so
  // the request path builds no string.
  std::string shadow_salt;

  // The variant and model that answer `customer_id`.
  Variant RouteOf(absl::string_view customer_id) const {
    return canary ? RouteCustomer(customer_id, salt, canary_percent) : Variant::kStable;
  }
  const Model& ModelFor(Variant variant) const { return variant == Variant::kCanary ? *canary : *stable; }
};

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

struct VersionStatus {
  enum class State { kLoading, kReady, kServing, kFailed, kRetired };
  int64_t version = 0;
  State state = State::kRetired;
  std::string reason;  // For kFailed.
  int64_t num_customers = 0;
  int64_t size_bytes = 0;
  double load_seconds = 0;
  absl::Time loaded_at = absl::InfinitePast();
  std::optional<Variant> serving_as;
};

// Parses MODEL_BASE/routing.json (RoutingConfig in protobuf's JSON mapping)
// and checks that canary_percent and shadow_percent are within 0..100.
// INVALID_ARGUMENT with the reason otherwise. Pure: reads no file.
absl::StatusOr<easymoney::model::v1::RoutingConfig> ParseRoutingJson(absl::string_view json);

// Keeps the model versions of a model base directory loaded, validated and
// routed, and publishes what serves.
//
//   ModelManager::Options options;
//   options.model_base = "models";
//   auto manager = ModelManager::Create(options);
//   std::shared_ptr<const ServingSet> serving = (*manager)->Current();  // null until a version loads
//
// Versions are sub-directories with positive integer names. A version is
// loaded, validated (Model::Load: checksums, shapes, NaN/Inf, ...) and warmed
// up off the request path, then published with one atomic pointer store; a
// request keeps the ServingSet it took, so it finishes on its versions and an
// old version's memory is freed when its last request ends. A version without
// manifest.json is still being copied and is looked at again on the next
// scan; one that fails validation is FAILED with its reason and is never
// served, and is retried only when its files change.
//
// Which version is stable: the one routing.json (MODEL_BASE/routing.json, or
// SetRouting) names; when it names none, the version policy's: the newest
// valid version ("latest") or a fixed one ("pinned:<version>"). The previous
// `keep_previous` stable versions stay loaded so Rollback is a pointer swap;
// at startup the valid versions just below the stable one take their place.
// Peak memory is the kept versions plus the one being loaded.
//
// Thread-safe. Admin calls (SetRouting, PromoteCanary, Rollback) never wait
// for a load in progress unless they name a version that is not loaded.
class ModelManager {
 public:
  struct Options {
    std::string model_base;
    // How often to look for new versions and routing changes; zero disables
    // the background thread (Rescan() still works).
    absl::Duration poll_interval = absl::Seconds(1);
    // "latest" or "pinned:<version>".
    std::string version_policy = "latest";
    // Previous stable versions kept loaded for instant rollback.
    int keep_previous = 1;
    // How versions are loaded (per-customer arrays mapped or copied).
    ModelLoadOptions load_options;
    // Recommend() calls run on a new version before it may serve.
    int warmup_queries = 16;
    // Called for each new ServingSet just before Current() returns it, on
    // the thread that publishes, with the manager's lock held: it must not
    // call back into the manager. Also called from Create for the first
    // version, before Create returns.
    std::function<void(const std::shared_ptr<const ServingSet>&)> on_publish;
    // Start the poll thread in Create; false leaves it to StartPolling(),
    // for owners that must finish building before publications arrive.
    bool start_polling = true;
    // Called when a version is refused, with the reason.
    std::function<void(int64_t version, const absl::Status&)> on_failure;
  };

  // Validates the options, scans once (a missing or empty base is not an
  // error: nothing serves until a version appears) and starts polling.
  // INVALID_ARGUMENT for a malformed policy.
  static absl::StatusOr<std::unique_ptr<ModelManager>> Create(Options options);
  ~ModelManager();

  ModelManager(const ModelManager&) = delete;
  ModelManager& operator=(const ModelManager&) = delete;

  // What serves now, or null while nothing is loaded. One atomic load.
  std::shared_ptr<const ServingSet> Current() const { return serving_.load(std::memory_order_acquire); }

  // Starts the poll thread (once) when poll_interval is positive.
  void StartPolling();

  // Re-reads routing.json if it changed, loads new versions, republishes.
  void Rescan() ABSL_LOCKS_EXCLUDED(scan_mu_, mu_);

  // Sets the routing (see RoutingChange) and persists it to routing.json.
  // FAILED_PRECONDITION when a named version cannot be loaded and
  // validated or the canary is the stable version; INVALID_ARGUMENT for a
  // percent outside 0..100.
  absl::StatusOr<RoutingState> SetRouting(const RoutingChange& change) ABSL_LOCKS_EXCLUDED(mu_);
  // Ends the rollout of `canary_version` (if it is still the canary) and
  // records `reason` as last_auto_rollback. For automatic canary analysis.
  absl::StatusOr<RoutingState> AbandonCanary(int64_t canary_version, const std::string& reason)
      ABSL_LOCKS_EXCLUDED(mu_);
  // The canary becomes the pinned stable; the rollout ends.
  // FAILED_PRECONDITION without a canary.
  absl::StatusOr<RoutingState> PromoteCanary() ABSL_LOCKS_EXCLUDED(mu_);
  // During a rollout: ends it, the stable version stays. Otherwise: the
  // previous stable version becomes the pinned stable. FAILED_PRECONDITION
  // without a rollout or a previous version.
  absl::StatusOr<RoutingState> Rollback() ABSL_LOCKS_EXCLUDED(mu_);

  RoutingState Routing() const ABSL_LOCKS_EXCLUDED(mu_);
  // Every version on disk or known, ascending.
  std::vector<VersionStatus> ListVersions() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Failure {
    absl::Status status;
    std::string fingerprint;  // Of the files when it failed.
  };
  struct Loaded {
    std::shared_ptr<const Model> model;
    int64_t size_bytes = 0;
    double load_seconds = 0;
    absl::Time loaded_at;
  };

  explicit ModelManager(Options options);
  void PollLoop() ABSL_LOCKS_EXCLUDED(mu_);
  // Loads and warms `version` unless loaded or failed with unchanged files.
  // true when it is loaded afterwards. Called with scan_mu_ held.
  bool EnsureLoaded(int64_t version) ABSL_EXCLUSIVE_LOCKS_REQUIRED(scan_mu_) ABSL_LOCKS_EXCLUDED(mu_);
  void ReadRoutingFileIfChanged() ABSL_EXCLUSIVE_LOCKS_REQUIRED(scan_mu_) ABSL_LOCKS_EXCLUDED(mu_);
  // Loads up to keep_previous valid versions below the stable one as
  // rollback targets (startup only).
  void LoadRollbackTargets(const std::vector<int64_t>& versions) ABSL_EXCLUSIVE_LOCKS_REQUIRED(scan_mu_)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Decides stable and canary from routing, policy and what is loaded,
  // publishes if anything changed, and evicts versions no longer kept.
  void ReconcileLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The version that should be stable now (0: none).
  int64_t StableTargetLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status PersistRoutingLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Persists routing_ and publishes it; on a write error restores `before`.
  absl::StatusOr<RoutingState> ApplyRoutingLocked(const easymoney::model::v1::RoutingConfig& before)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  RoutingState RoutingLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string VersionDir(int64_t version) const;

  const Options options_;
  int64_t pinned_version_ = 0;  // From the policy; 0 for "latest".
  std::atomic<std::shared_ptr<const ServingSet>> serving_;

  // Serialises scans and loads (the poll thread, Rescan, loads for
  // SetRouting). Never held by the request path.
  absl::Mutex scan_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  std::string routing_file_stamp_ ABSL_GUARDED_BY(scan_mu_);
  bool first_scan_done_ ABSL_GUARDED_BY(scan_mu_) = false;

  mutable absl::Mutex mu_;
  std::map<int64_t, Loaded> loaded_ ABSL_GUARDED_BY(mu_);
  std::map<int64_t, Failure> failures_ ABSL_GUARDED_BY(mu_);
  std::map<int64_t, int64_t> known_versions_ ABSL_GUARDED_BY(mu_);  // On disk at the last scan -> size.
  easymoney::model::v1::RoutingConfig routing_ ABSL_GUARDED_BY(mu_);
  std::vector<int64_t> stable_history_ ABSL_GUARDED_BY(mu_);  // Oldest first.
  // Bumped by every admin routing change, so a routing.json read that
  // raced with one is discarded instead of undoing it.
  int64_t routing_generation_ ABSL_GUARDED_BY(mu_) = 0;
  std::atomic<int64_t> loading_{0};  // Version being loaded, for ListVersions.
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread poller_;
};

}  // namespace easymoney

#endif  // EASYMONEY_CORE_MODEL_MANAGER_H_
