#include "core/serving/model_manager.h"

#include <algorithm>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/model/recommender.h"

namespace easymoney {
namespace {

// Touches the model's pages and code paths before it serves, so the first
// real requests do not pay for page faults.
void WarmUp(const Model& model, int queries) {
  const int64_t customers = model.num_customers();
  for (int i = 0; i < queries; ++i) {
    const std::string id = customers > 0 && i + 1 < queries
                               ? std::to_string(model.customer_ids()[(customers - 1) * i / std::max(1, queries - 1)])
                               : "1";
    RecommendationQuery query;
    query.customer_id = id;
    (void)Recommend(model, query);
  }
}

std::string MappedSummary(const Model& model) {
  const size_t mapped = model.mapped_bytes();
  if (mapped == 0) return "arrays in memory";
  if (mapped < (size_t{1} << 20)) return absl::StrCat(mapped >> 10, " KiB of per-customer arrays mapped");
  return absl::StrCat(mapped >> 20, " MiB of per-customer arrays mapped");
}

}  // namespace

ModelManager::ModelManager(Options options, VersionPolicy policy)
    : options_(std::move(options)),
      policy_(policy),
      source_(options_.model_base),
      routing_file_(options_.model_base) {}

absl::StatusOr<std::unique_ptr<ModelManager>> ModelManager::Create(Options options) {
  if (options.model_base.empty()) return absl::InvalidArgumentError("model_base is empty");
  absl::StatusOr<VersionPolicy> policy = VersionPolicy::Parse(options.version_policy);
  if (!policy.ok()) return policy.status();
  if (options.keep_previous < 0) return absl::InvalidArgumentError("keep_previous must not be negative");
  std::unique_ptr<ModelManager> manager(new ModelManager(std::move(options), *policy));
  manager->Rescan();
  if (manager->options_.start_polling) manager->StartPolling();
  return manager;
}

void ModelManager::StartPolling() {
  if (options_.poll_interval > absl::ZeroDuration() && !poller_.joinable()) {
    poller_ = std::thread([this] { PollLoop(); });
  }
}

ModelManager::~ModelManager() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (poller_.joinable()) poller_.join();
}

void ModelManager::RescanSoon() {
  if (poller_.joinable()) {
    absl::MutexLock lock(&mu_);
    rescan_requested_ = true;
    return;
  }
  Rescan();
}

void ModelManager::PollLoop() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      auto woken = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || rescan_requested_; };
      mu_.AwaitWithTimeout(absl::Condition(&woken), options_.poll_interval);
      if (stopping_) return;
      rescan_requested_ = false;
    }
    Rescan();
  }
}

bool ModelManager::EnsureLoaded(int64_t version) {
  std::optional<VersionSource::Fingerprint> failed_fingerprint;
  {
    absl::MutexLock lock(&mu_);
    if (loaded_.contains(version)) return true;
    if (const auto failed = failures_.find(version); failed != failures_.end()) {
      failed_fingerprint = failed->second.fingerprint;
    }
  }
  if (failed_fingerprint.has_value() && source_.FingerprintOf(version) == *failed_fingerprint) return false;
  // Still being copied in: look again next scan.
  if (!source_.Ready(version)) return false;
  // Taken before reading, so a copy that completes during the load changes
  // the fingerprint and the version is looked at again.
  const VersionSource::Fingerprint fingerprint = source_.FingerprintOf(version);
  loading_.store(version);
  const absl::Time start = absl::Now();
  absl::StatusOr<std::shared_ptr<const Model>> model = Model::Load(source_.DirOf(version), version,
                                                                   options_.load_options);
  if (model.ok()) WarmUp(**model, options_.warmup_queries);
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  loading_.store(0);
  if (!model.ok()) {
    // The manifest vanished between the check and the load: still arriving.
    if (absl::IsNotFound(model.status())) return false;
    std::fprintf(stderr, "model manager: refusing version %lld: %s\n", static_cast<long long>(version),
                 std::string(model.status().message()).c_str());
    {
      absl::MutexLock lock(&mu_);
      failures_[version] = {model.status(), fingerprint};
    }
    if (options_.on_failure) options_.on_failure(version, model.status());
    return false;
  }
  std::fprintf(stderr, "model manager: loaded version %lld in %.3f s (%lld customers, %s)\n",
               static_cast<long long>(version), seconds, static_cast<long long>((*model)->num_customers()),
               MappedSummary(**model).c_str());
  const int64_t bytes = fingerprint.total_bytes;
  absl::MutexLock lock(&mu_);
  failures_.erase(version);
  // The fingerprint from before the load: files changed while it was read
  // are reported by the next scan.
  loaded_[version] = Loaded{.model = *std::move(model),
                             .fingerprint = fingerprint,
                             .size_bytes = bytes,
                             .load_seconds = seconds,
                             .loaded_at = absl::Now()};
  return true;
}

void ModelManager::CheckLoadedFilesUnchanged() {
  std::vector<std::pair<int64_t, VersionSource::Fingerprint>> loaded;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [version, entry] : loaded_) loaded.emplace_back(version, entry.fingerprint);
  }
  for (auto& [version, fingerprint] : loaded) {
    VersionSource::Fingerprint now = source_.FingerprintOf(version);
    // A directory removed (a rollback target cleaned up) is not a change of
    // what serves: nothing reads its files again.
    if (now == fingerprint || now.files.empty()) continue;
    bool first_change = false;
    {
      absl::MutexLock lock(&mu_);
      if (auto entry = loaded_.find(version); entry != loaded_.end()) {
        entry->second.fingerprint = std::move(now);
        first_change = !entry->second.files_changed;
        entry->second.files_changed = true;
      }
    }
    if (!first_change) continue;
    std::fprintf(stderr,
                 "model manager: the files of loaded version %lld changed on disk; it goes on serving what was "
                 "loaded and validated%s. Publish new versions as new directories.\n",
                 static_cast<long long>(version),
                 options_.load_options.map_customer_arrays ? " (its mapped arrays may fault: --map-model-arrays)" : "");
    if (options_.on_files_changed) options_.on_files_changed(version);
  }
}

void ModelManager::ReadRoutingFile() {
  // Taken before the file is looked at: an admin change writes the file and
  // then bumps the generation, so an unchanged generation at the end means
  // what we read is not older than the routing in force. (Taken after the
  // read, a change committed in between would be undone by the file it
  // replaced until the next scan.)
  int64_t generation = 0;
  {
    absl::MutexLock lock(&mu_);
    generation = routing_generation_;
  }
  absl::StatusOr<std::optional<easymoney::model::v1::RoutingConfig>> read = routing_file_.ReadIfChanged();
  if (!read.ok()) {
    // Retried every scan; logged once per distinct error.
    const std::string error(read.status().message());
    if (error != routing_file_error_) {
      std::fprintf(stderr, "model manager: cannot use %s (keeping the current routing): %s\n",
                   routing_file_.path().c_str(), error.c_str());
      routing_file_error_ = error;
    }
    return;
  }
  routing_file_error_.clear();
  if (!read->has_value()) return;
  const easymoney::model::v1::RoutingConfig& config = **read;
  // Routed versions must be loaded before they can serve.
  for (int64_t version : {config.stable_version(), config.canary_version(), config.shadow_version()}) {
    if (version > 0) EnsureLoaded(version);
  }
  absl::MutexLock lock(&mu_);
  // An admin change committed since we took the generation wins: it also
  // wrote the file, which the next scan reads.
  if (generation != routing_generation_) {
    routing_file_.Invalidate();
    return;
  }
  routing_ = config;
}

void ModelManager::Rescan() {
  absl::MutexLock scan_lock(&scan_mu_);
  ReadRoutingFile();
  CheckLoadedFilesUnchanged();
  absl::StatusOr<std::vector<int64_t>> versions = source_.List();
  if (!versions.ok()) {
    if (!absl::IsNotFound(versions.status())) {
      std::fprintf(stderr, "model manager: %s\n", std::string(versions.status().message()).c_str());
    }
    return;
  }
  int64_t newest_loaded = 0;
  {
    absl::MutexLock lock(&mu_);
    on_disk_ = std::set<int64_t>(versions->begin(), versions->end());
    std::erase_if(failures_, [&](const auto& entry) { return !on_disk_.contains(entry.first); });
    if (!loaded_.empty()) newest_loaded = loaded_.rbegin()->first;
  }
  for (int64_t version : policy_.LoadOrder(*versions, newest_loaded)) {
    if (EnsureLoaded(version)) break;
  }
  // Versions the routing names are loaded whenever they can be (a canary
  // whose copy completes after routing.json named it, a FAILED one
  // repaired), not only when routing.json changes. Cheap when loaded or
  // failed with unchanged files.
  std::vector<int64_t> routed;
  {
    absl::MutexLock lock(&mu_);
    routed = {routing_.stable_version(), routing_.canary_version(), routing_.shadow_version()};
  }
  for (int64_t version : routed) {
    if (version > 0) EnsureLoaded(version);
  }
  Decided decided;
  {
    absl::MutexLock lock(&mu_);
    decided = ReconcileLocked();
  }
  Publish(decided);
  if (!first_scan_done_) {
    first_scan_done_ = true;
    LoadRollbackTargets(*versions);
  }
}

void ModelManager::LoadRollbackTargets(const std::vector<int64_t>& versions) {
  const auto serving = Current();
  if (!serving || options_.keep_previous == 0) return;
  // After a restart there is no serving history; the valid versions just
  // below the stable one stand in for it, so Rollback works at once.
  std::vector<int64_t> previous;
  for (auto it = versions.rbegin(); it != versions.rend(); ++it) {
    if (static_cast<int>(previous.size()) == options_.keep_previous) break;
    if (*it < serving->stable->version() && EnsureLoaded(*it)) previous.push_back(*it);
  }
  absl::MutexLock lock(&mu_);
  for (auto it = previous.rbegin(); it != previous.rend(); ++it) {
    if (std::find(stable_history_.begin(), stable_history_.end(), *it) == stable_history_.end()) {
      stable_history_.push_back(*it);
    }
  }
}

std::set<int64_t> ModelManager::LoadedVersionsLocked() const {
  std::set<int64_t> versions;
  for (const auto& [version, loaded] : loaded_) versions.insert(version);
  return versions;
}

ModelManager::Decided ModelManager::ReconcileLocked() {
  const std::set<int64_t> loaded = LoadedVersionsLocked();
  const int64_t serving_stable = decided_ ? decided_->stable->version() : 0;
  const RoutedVersions routed =
      Route(routing_, policy_.Stable(routing_.stable_version(), loaded, serving_stable), loaded);
  UpdateRoutingProblemsLocked(routed);
  if (routed.stable == 0) return {};

  auto next = std::make_shared<ServingSet>();
  next->stable = loaded_.at(routed.stable).model;
  if (routed.canary > 0) {
    next->canary = loaded_.at(routed.canary).model;
    next->canary_percent = routing_.canary_percent();
    next->salt = routing_.salt();
    next->analysis = routing_.analysis();
  }
  if (routed.shadow > 0) {
    next->shadow = loaded_.at(routed.shadow).model;
    next->shadow_percent = routing_.shadow_percent();
    next->salt = routing_.salt();
    next->shadow_salt = "shadow\x1f" + routing_.salt();
  }
  const std::shared_ptr<const ServingSet>& current = decided_;
  const bool changed = !current || current->stable != next->stable || current->canary != next->canary ||
                       current->canary_percent != next->canary_percent || current->salt != next->salt ||
                       current->shadow != next->shadow || current->shadow_percent != next->shadow_percent ||
                       current->analysis.SerializeAsString() != next->analysis.SerializeAsString();
  Decided decided;
  if (changed) {
    if (current && current->stable->version() != routed.stable) {
      std::erase(stable_history_, current->stable->version());
      stable_history_.push_back(current->stable->version());
    }
    std::erase(stable_history_, routed.stable);
    decided_ = next;
    decided = {next, ++decided_sequence_};
    std::fprintf(stderr, "model manager: serving stable %lld%s\n", static_cast<long long>(routed.stable),
                 routed.canary > 0
                     ? absl::StrCat(", canary ", routed.canary, " for ", next->canary_percent, "% of customers").c_str()
                     : "");
  }
  // Keep what serves, the newest loaded version and the last keep_previous
  // stables; requests still holding an evicted version keep it alive until
  // they finish.
  while (static_cast<int>(stable_history_.size()) > options_.keep_previous) {
    stable_history_.erase(stable_history_.begin());
  }
  const int64_t newest = loaded_.empty() ? 0 : loaded_.rbegin()->first;
  for (auto it = loaded_.begin(); it != loaded_.end();) {
    const int64_t v = it->first;
    const bool keep = v == routed.stable || v == routed.canary || v == routed.shadow || v == newest ||
                      std::find(stable_history_.begin(), stable_history_.end(), v) != stable_history_.end();
    it = keep ? std::next(it) : loaded_.erase(it);
  }
  return decided;
}

void ModelManager::UpdateRoutingProblemsLocked(const RoutedVersions& routed) {
  std::vector<std::string> problems;
  const auto check = [&](const char* role, int64_t named, int64_t serving, const std::string& instead) {
    if (named <= 0 || named == serving) return;
    std::string why;
    if (const auto failed = failures_.find(named); failed != failures_.end()) {
      why = absl::StrCat("FAILED: ", failed->second.status.message());
    } else if (loaded_.contains(named)) {
      why = "it is the stable version";
    } else if (!on_disk_.contains(named)) {
      why = "not in the model base";
    } else {
      why = "not complete yet";
    }
    problems.push_back(absl::StrCat("routing names ", role, " version ", named, ", which cannot serve (", why,
                                    "); ", instead));
  };
  check("stable", routing_.stable_version(), routed.stable,
        routed.stable > 0 ? absl::StrCat("version ", routed.stable, " serves instead") : "nothing serves yet");
  check("canary", routing_.canary_version(), routed.canary, "no canary serves");
  check("shadow", routing_.shadow_version(), routed.shadow, "no shadow scores");
  if (problems != routing_problems_) {
    for (const std::string& problem : problems) std::fprintf(stderr, "model manager: %s\n", problem.c_str());
    if (problems.empty() && !routing_problems_.empty()) {
      std::fprintf(stderr, "model manager: every routed version serves again\n");
    }
    routing_problems_ = std::move(problems);
    routing_problems_snapshot_.store(std::make_shared<const std::vector<std::string>>(routing_problems_),
                                     std::memory_order_release);
  }
}

void ModelManager::Publish(const Decided& decided) {
  if (decided.next == nullptr) return;
  absl::MutexLock lock(&publish_mu_);
  // A later decision already serves: this one is out of date.
  if (decided.sequence <= published_sequence_) return;
  if (options_.attach) decided.next->attachment = options_.attach(*decided.next);
  std::shared_ptr<const ServingSet> next = decided.next;
  // The owner learns of the new set before Current() reports it, so whoever
  // waits on Current() finds everything the owner does on publication done.
  if (options_.on_publish) options_.on_publish(next);
  serving_.store(std::move(next), std::memory_order_release);
  published_sequence_ = decided.sequence;
}

absl::StatusOr<ModelManager::Decided> ModelManager::CommitRoutingLocked(
    const easymoney::model::v1::RoutingConfig& next) {
  // Persist first: a routing that serves but is not on disk would be undone
  // by the next restart.
  if (absl::Status status = RoutingFile(options_.model_base).Write(next); !status.ok()) return status;
  routing_ = next;
  ++routing_generation_;
  return ReconcileLocked();
}

absl::StatusOr<RoutingState> ModelManager::CommitAndPublish(absl::ReleasableMutexLock& lock,
                                                            const easymoney::model::v1::RoutingConfig& next) {
  absl::StatusOr<Decided> decided = CommitRoutingLocked(next);
  const absl::StatusOr<RoutingState> state =
      decided.ok() ? absl::StatusOr<RoutingState>(RoutingLocked()) : decided.status();
  lock.Release();
  if (decided.ok()) Publish(*decided);
  return state;
}

absl::Status ModelManager::CheckRoutingWritable() const {
  if (options_.fleet_routing_source.empty()) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "routing is fleet state: this replica follows ", options_.fleet_routing_source,
      "; change the routing there (recommender-retrain, or an atomic rewrite of that routing.json), so every "
      "replica follows it"));
}

absl::StatusOr<RoutingState> ModelManager::SetRouting(const RoutingChange& change) {
  if (absl::Status writable = CheckRoutingWritable(); !writable.ok()) return writable;
  // Checked before any version is loaded for it.
  if (absl::StatusOr<easymoney::model::v1::RoutingConfig> valid = ChangedRouting({}, change, 0); !valid.ok()) {
    return valid.status();
  }
  auto check_loadable = [this](int64_t version) -> absl::Status {
    {
      absl::MutexLock lock(&mu_);
      if (loaded_.contains(version)) return absl::OkStatus();
    }
    absl::MutexLock scan_lock(&scan_mu_);
    if (EnsureLoaded(version)) return absl::OkStatus();
    absl::MutexLock lock(&mu_);
    const auto failed = failures_.find(version);
    return absl::FailedPreconditionError(
        absl::StrCat("version ", version, " cannot serve: ",
                     failed != failures_.end() ? failed->second.status.message() : "not found or incomplete"));
  };
  for (int64_t version : {change.stable_version, change.canary_version, change.shadow_version}) {
    if (version > 0) {
      if (absl::Status status = check_loadable(version); !status.ok()) return status;
    }
  }
  absl::ReleasableMutexLock lock(&mu_);
  // The poll thread may have evicted a version between the check above and
  // this lock.
  for (int64_t version : {change.stable_version, change.canary_version, change.shadow_version}) {
    if (version > 0 && !loaded_.contains(version)) {
      return absl::AbortedError(absl::StrCat("version ", version, " was unloaded concurrently; retry"));
    }
  }
  const int64_t serving_stable = decided_ ? decided_->stable->version() : 0;
  absl::StatusOr<easymoney::model::v1::RoutingConfig> next = ChangedRouting(routing_, change, serving_stable);
  if (!next.ok()) return next.status();
  const std::set<int64_t> loaded = LoadedVersionsLocked();
  if (change.canary_version > 0 &&
      change.canary_version == policy_.Stable(next->stable_version(), loaded, serving_stable)) {
    return absl::FailedPreconditionError(absl::StrCat("version ", change.canary_version,
                                                      " is the stable version; a canary must be another version"));
  }
  return CommitAndPublish(lock, *next);
}

absl::StatusOr<RoutingState> ModelManager::AbandonCanary(int64_t canary_version, const std::string& reason) {
  if (absl::Status writable = CheckRoutingWritable(); !writable.ok()) return writable;
  absl::ReleasableMutexLock lock(&mu_);
  if (!decided_ || !decided_->canary || decided_->canary->version() != canary_version) {
    return absl::FailedPreconditionError(absl::StrCat("version ", canary_version, " is not the canary"));
  }
  return CommitAndPublish(
      lock, AbandonedRouting(routing_, decided_->stable->version(), canary_version, reason, absl::Now()));
}

absl::StatusOr<RoutingState> ModelManager::PromoteCanary() {
  if (absl::Status writable = CheckRoutingWritable(); !writable.ok()) return writable;
  absl::ReleasableMutexLock lock(&mu_);
  if (!decided_ || !decided_->canary) return absl::FailedPreconditionError("no canary is serving");
  return CommitAndPublish(lock, PromotedRouting(routing_, decided_->canary->version()));
}

absl::StatusOr<RoutingState> ModelManager::Rollback() {
  if (absl::Status writable = CheckRoutingWritable(); !writable.ok()) return writable;
  absl::ReleasableMutexLock lock(&mu_);
  if (decided_ && decided_->canary) {
    // During a rollout, rolling back means abandoning the canary; the
    // stable version stays.
    return CommitAndPublish(lock, RolledBackRouting(routing_, decided_->stable->version()));
  }
  if (stable_history_.empty() || !loaded_.contains(stable_history_.back())) {
    return absl::FailedPreconditionError("no previous stable version is loaded");
  }
  return CommitAndPublish(lock, RolledBackRouting(routing_, stable_history_.back()));
}

RoutingState ModelManager::RoutingLocked() const {
  RoutingState state;
  const std::shared_ptr<const ServingSet>& current = decided_;
  if (current) {
    state.stable_version = current->stable->version();
    if (current->canary) {
      state.canary_version = current->canary->version();
      state.canary_percent = current->canary_percent;
    }
    if (current->shadow) {
      state.shadow_version = current->shadow->version();
      state.shadow_percent = current->shadow_percent;
    }
  }
  state.salt = routing_.salt();
  state.previous_stable_version = stable_history_.empty() ? 0 : stable_history_.back();
  state.analysis = routing_.analysis();
  state.last_auto_rollback = routing_.last_auto_rollback();
  state.routing_problems = routing_problems_;
  return state;
}

RoutingState ModelManager::Routing() const {
  absl::MutexLock lock(&mu_);
  return RoutingLocked();
}

std::vector<VersionStatus> ModelManager::ListVersions() const {
  absl::MutexLock lock(&mu_);
  const std::shared_ptr<const ServingSet>& current = decided_;
  std::map<int64_t, VersionStatus> statuses;
  for (int64_t version : on_disk_) {
    VersionStatus& status = statuses[version];
    status.version = version;
    status.state = VersionStatus::State::kRetired;
  }
  for (const auto& [version, failure] : failures_) {
    VersionStatus& status = statuses[version];
    status.version = version;
    status.state = VersionStatus::State::kFailed;
    status.reason = std::string(failure.status.message());
  }
  for (const auto& [version, loaded] : loaded_) {
    VersionStatus& status = statuses[version];
    status.version = version;
    status.state = VersionStatus::State::kReady;
    status.num_customers = loaded.model->num_customers();
    status.size_bytes = loaded.size_bytes;
    status.load_seconds = loaded.load_seconds;
    status.loaded_at = loaded.loaded_at;
    if (current && current->stable == loaded.model) {
      status.state = VersionStatus::State::kServing;
      status.serving_as = Variant::kStable;
    } else if (current && current->canary == loaded.model) {
      status.state = VersionStatus::State::kServing;
      status.serving_as = Variant::kCanary;
    }
  }
  if (const int64_t loading = loading_.load(); loading > 0) {
    statuses[loading].version = loading;
    statuses[loading].state = VersionStatus::State::kLoading;
  }
  std::vector<VersionStatus> result;
  for (auto& [version, status] : statuses) result.push_back(std::move(status));
  return result;
}

}  // namespace easymoney
