#ifndef EASYMONEY_CORE_SERVING_MODEL_MANAGER_H_
#define EASYMONEY_CORE_SERVING_MODEL_MANAGER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/model/model.h"
#include "core/serving/router.h"
#include "core/serving/routing_file.h"
#include "core/serving/serving_set.h"
#include "core/serving/version_policy.h"
#include "core/serving/version_source.h"
#include "easymoney/model/v1/routing.pb.h"

namespace easymoney {

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

// Keeps the model versions of a model base directory loaded, validated and
// routed, and publishes what serves (TF Serving's manager). The parts it
// drives each have one job: VersionSource lists the versions on disk,
// VersionPolicy says which loaded one is stable, RoutingFile and the router
// (router.h) say what routing.json and the admin calls mean; the manager
// loads, validates and warms versions up, and publishes one immutable
// ServingSet.
//
//   ModelManager::Options options;
//   options.model_base = "models";
//   auto manager = ModelManager::Create(options);
//   std::shared_ptr<const ServingSet> serving = (*manager)->Current();  // null until a version loads
//
// A version is loaded, validated (Model::Load: checksums, shapes, NaN/Inf,
// ...) and warmed up off the request path, then published with one atomic
// pointer store; a request keeps the ServingSet it took, so it finishes on
// its versions and an old version's memory is freed when its last request
// ends. A version without manifest.json is still being copied and is looked
// at again on the next scan; one that fails validation is FAILED with its
// reason, is never served, and is retried only when its files change.
//
// Which version is stable: the one routing.json (or SetRouting) names; when
// it names none, the version policy's. The previous `keep_previous` stable
// versions stay loaded so Rollback is a pointer swap; at startup the valid
// versions just below the stable one take their place. Peak memory is the
// kept versions plus the one being loaded.
//
// Publication runs outside the lock that admin calls and ListVersions take
// (the owner's attach and on_publish hooks may take milliseconds), one
// publication at a time and never an older set after a newer one.
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
    // "latest" or "pinned:<version>" (VersionPolicy::Parse).
    std::string version_policy = "latest";
    // Where the fleet's routing is changed, when this replica's model base
    // is a mirror of it (sync-models into a read-only volume): routing
    // changes here (SetRouting, PromoteCanary, Rollback, AbandonCanary) are
    // refused with FAILED_PRECONDITION naming it, so that no replica splits
    // the fleet on its own. Empty: the model base is the source (alone, or
    // shared by every replica), and changes are written to its routing.json.
    std::string fleet_routing_source;
    // Previous stable versions kept loaded for instant rollback.
    int keep_previous = 1;
    // How versions are loaded (per-customer arrays mapped or copied).
    ModelLoadOptions load_options;
    // Recommend() calls run on a new version before it may serve.
    int warmup_queries = 16;
    // Makes the attachment of each new ServingSet (ServingSet::attachment),
    // before anyone sees the set. May be empty.
    std::function<std::shared_ptr<const ServingSetAttachment>(const ServingSet&)> attach;
    // Called for each new ServingSet just before Current() returns it, on
    // the thread that publishes, one publication at a time. Neither hook may
    // call back into the manager. Both are also called from Create for the
    // first version, before Create returns.
    std::function<void(const std::shared_ptr<const ServingSet>&)> on_publish;
    // Start the poll thread in Create; false leaves it to StartPolling(),
    // for owners that must finish building before publications arrive.
    bool start_polling = true;
    // Called when a version is refused, with the reason.
    std::function<void(int64_t version, const absl::Status&)> on_failure;
    // Called when the files of a loaded version change on disk (a copy or
    // rsync over a published version): it goes on serving from memory.
    std::function<void(int64_t version)> on_files_changed;
  };

  // Validates the options, scans once (a missing or empty base is not an
  // error: nothing serves until a version appears) and starts polling.
  // INVALID_ARGUMENT for an empty base, a malformed policy or a negative
  // keep_previous.
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
  // Asks the poll thread to rescan now and returns at once; without a poll
  // thread, rescans on the caller's thread.
  void RescanSoon() ABSL_LOCKS_EXCLUDED(scan_mu_, mu_);

  // Sets the routing (see RoutingChange) and persists it to routing.json.
  // FAILED_PRECONDITION when a named version cannot be loaded and
  // validated or the canary is the stable version; INVALID_ARGUMENT for a
  // percent outside 0..100; INTERNAL when routing.json cannot be written
  // (the routing in force is kept).
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
  // RoutingState::routing_problems without taking the manager's lock (for
  // the request path). Never null.
  std::shared_ptr<const std::vector<std::string>> RoutingProblems() const {
    return routing_problems_snapshot_.load(std::memory_order_acquire);
  }
  // Every version on disk or known, ascending.
  std::vector<VersionStatus> ListVersions() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  // FAILED_PRECONDITION naming the fleet's routing source when routing is
  // not this replica's to change (Options::fleet_routing_source).
  absl::Status CheckRoutingWritable() const;
  struct Failure {
    absl::Status status;
    VersionSource::Fingerprint fingerprint;  // Of the files when it failed.
  };
  struct Loaded {
    std::shared_ptr<const Model> model;
    VersionSource::Fingerprint fingerprint;  // Of the files once loaded.
    // Its files changed on disk since it was loaded (reported once: a copy
    // over it changes one file after another).
    bool files_changed = false;
    int64_t size_bytes = 0;
    double load_seconds = 0;
    absl::Time loaded_at;
  };
  // A set decided under mu_ and still to be published; sequence orders
  // publications.
  struct Decided {
    std::shared_ptr<ServingSet> next;  // Null: nothing changed.
    int64_t sequence = 0;
  };

  ModelManager(Options options, VersionPolicy policy);
  void PollLoop() ABSL_LOCKS_EXCLUDED(mu_);
  // Loads and warms `version` unless loaded or failed with unchanged files.
  // true when it is loaded afterwards.
  bool EnsureLoaded(int64_t version) ABSL_EXCLUSIVE_LOCKS_REQUIRED(scan_mu_) ABSL_LOCKS_EXCLUDED(mu_);
  void ReadRoutingFile() ABSL_EXCLUSIVE_LOCKS_REQUIRED(scan_mu_) ABSL_LOCKS_EXCLUDED(mu_);
  // Reports loaded versions whose files changed since they were loaded.
  void CheckLoadedFilesUnchanged() ABSL_EXCLUSIVE_LOCKS_REQUIRED(scan_mu_) ABSL_LOCKS_EXCLUDED(mu_);
  // Loads up to keep_previous valid versions below the stable one as
  // rollback targets (startup only).
  void LoadRollbackTargets(const std::vector<int64_t>& versions) ABSL_EXCLUSIVE_LOCKS_REQUIRED(scan_mu_)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Decides stable, canary and shadow from routing, policy and what is
  // loaded, evicts versions no longer kept, and returns the set to publish
  // when anything changed.
  Decided ReconcileLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Attaches, calls on_publish and stores `decided.next`, unless a later
  // decision was published already.
  void Publish(const Decided& decided) ABSL_LOCKS_EXCLUDED(mu_, publish_mu_);
  // Persists `next` as the routing, adopts it and decides what serves; on a
  // write error the routing in force is kept.
  absl::StatusOr<Decided> CommitRoutingLocked(const easymoney::model::v1::RoutingConfig& next)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Commits `next`, releases `lock` (on mu_), publishes what was decided
  // and reports the routing.
  absl::StatusOr<RoutingState> CommitAndPublish(absl::ReleasableMutexLock& lock,
                                                const easymoney::model::v1::RoutingConfig& next)
      ABSL_UNLOCK_FUNCTION(mu_);
  RoutingState RoutingLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The routed versions that cannot serve, with why; logs a change.
  void UpdateRoutingProblemsLocked(const RoutedVersions& routed) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::set<int64_t> LoadedVersionsLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Options options_;
  const VersionPolicy policy_;
  const VersionSource source_;
  std::atomic<std::shared_ptr<const ServingSet>> serving_;

  // Serialises scans and loads (the poll thread, Rescan, loads for
  // SetRouting). Never held by the request path.
  absl::Mutex scan_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  RoutingFile routing_file_ ABSL_GUARDED_BY(scan_mu_);
  std::string routing_file_error_ ABSL_GUARDED_BY(scan_mu_);  // Last one logged.
  bool first_scan_done_ ABSL_GUARDED_BY(scan_mu_) = false;

  mutable absl::Mutex mu_ ABSL_ACQUIRED_BEFORE(publish_mu_);
  std::map<int64_t, Loaded> loaded_ ABSL_GUARDED_BY(mu_);
  std::map<int64_t, Failure> failures_ ABSL_GUARDED_BY(mu_);
  std::set<int64_t> on_disk_ ABSL_GUARDED_BY(mu_);  // At the last scan.
  easymoney::model::v1::RoutingConfig routing_ ABSL_GUARDED_BY(mu_);
  std::vector<int64_t> stable_history_ ABSL_GUARDED_BY(mu_);  // Oldest first.
  // What the last reconciliation found wrong with the routing (logged when
  // it changes).
  std::vector<std::string> routing_problems_ ABSL_GUARDED_BY(mu_);
  std::atomic<std::shared_ptr<const std::vector<std::string>>> routing_problems_snapshot_{
      std::make_shared<const std::vector<std::string>>()};
  bool rescan_requested_ ABSL_GUARDED_BY(mu_) = false;
  // Bumped by every admin routing change, so a routing.json read that
  // raced with one is discarded instead of undoing it.
  int64_t routing_generation_ ABSL_GUARDED_BY(mu_) = 0;
  // The last set decided (published or about to be): what the next
  // decision compares with and what Routing() reports.
  std::shared_ptr<const ServingSet> decided_ ABSL_GUARDED_BY(mu_);
  int64_t decided_sequence_ ABSL_GUARDED_BY(mu_) = 0;
  std::atomic<int64_t> loading_{0};  // Version being loaded, for ListVersions.
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;

  // Serialises publications, held while the hooks run.
  absl::Mutex publish_mu_;
  int64_t published_sequence_ ABSL_GUARDED_BY(publish_mu_) = 0;
  std::thread poller_;
};

}  // namespace easymoney

#endif  // EASYMONEY_CORE_SERVING_MODEL_MANAGER_H_
