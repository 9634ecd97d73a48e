#ifndef EASYMONEY_CORE_MODEL_MANAGER_H_
#define EASYMONEY_CORE_MODEL_MANAGER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/model.h"

namespace easymoney {

// Keeps the newest valid model version of a model base directory loaded and
// published.
//
//   ModelManager::Options options;
//   options.model_base = "models";
//   auto manager = ModelManager::Create(options);
//   std::shared_ptr<const Model> model = (*manager)->Current();  // may be null
//
// Loading happens on the caller's thread in Create and on a background
// thread afterwards, never on a request path. A version is loaded completely
// and validated before it is published with one atomic pointer store; a
// request holds the shared_ptr it took at its start, so it finishes on the
// version it started with and an old version is freed when its last request
// ends. A version that fails validation is remembered with its reason, never
// retried (versions are immutable once renamed into place) and never served;
// the current version goes on serving.
//
// Thread-safe.
class ModelManager {
 public:
  struct Options {
    std::string model_base;
    // How often to look for a newer version; zero disables the background
    // thread (Rescan() still works).
    absl::Duration poll_interval = absl::Seconds(1);
    // Called after a new version is published (on the loading thread).
    std::function<void(const std::shared_ptr<const Model>&)> on_publish;
    // Called when a version is refused, with the reason.
    std::function<void(int64_t version, const absl::Status&)> on_failure;
  };

  // Scans `model_base` once (a missing or empty base is not an error: the
  // manager then serves nothing until a version appears) and starts polling.
  static absl::StatusOr<std::unique_ptr<ModelManager>> Create(Options options);
  ~ModelManager();

  ModelManager(const ModelManager&) = delete;
  ModelManager& operator=(const ModelManager&) = delete;

  // The serving version, or null while none is loaded. Wait-free for
  // practical purposes (one atomic load).
  std::shared_ptr<const Model> Current() const { return current_.load(std::memory_order_acquire); }

  // Loads the newest version newer than the current one, if any, falling
  // back to older candidates when the newest fails validation.
  void Rescan() ABSL_LOCKS_EXCLUDED(mu_);

  // Reason a version was refused, or OK if it was not.
  absl::Status FailureOf(int64_t version) const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  explicit ModelManager(Options options);
  void PollLoop() ABSL_LOCKS_EXCLUDED(mu_);

  const Options options_;
  std::atomic<std::shared_ptr<const Model>> current_;
  // Serialises scans (Create, the poll thread and explicit Rescan calls).
  absl::Mutex scan_mu_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<int64_t, absl::Status> failures_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread poller_;
};

}  // namespace easymoney

#endif  // EASYMONEY_CORE_MODEL_MANAGER_H_
