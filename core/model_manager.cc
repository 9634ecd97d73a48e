#include "core/model_manager.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>


#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/strings/str_cat.h"
#include "core/manifest_json.h"
#include "core/model_directory.h"
#include "core/npy.h"
#include "core/recommender.h"

namespace easymoney {
namespace {

namespace fs = std::filesystem;

constexpr char kRoutingFile[] = "routing.json";

// Names, sizes and modification times of a directory's files: changes when
// a refused version is repaired or finishes copying.
std::string Fingerprint(const std::string& dir, int64_t* total_bytes = nullptr) {
  std::string fingerprint;
  std::error_code error;
  std::vector<std::string> entries;
  int64_t total = 0;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir, error)) {
    struct stat info;
    if (stat(entry.path().c_str(), &info) != 0) continue;
    total += info.st_size;
    // ctime too: a chmod that makes a file readable changes only that.
    entries.push_back(absl::StrCat(entry.path().filename().string(), ":", info.st_ino, ":", info.st_size, ":",
                                   info.st_mtim.tv_sec, ".", info.st_mtim.tv_nsec, ":", info.st_ctim.tv_sec, ".",
                                   info.st_ctim.tv_nsec));
  }
  std::sort(entries.begin(), entries.end());
  for (const std::string& e : entries) absl::StrAppend(&fingerprint, e, ";");
  if (total_bytes != nullptr) *total_bytes = total;
  return fingerprint;
}

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

}  // namespace

absl::StatusOr<easymoney::model::v1::RoutingConfig> ParseRoutingJson(absl::string_view json) {
  easymoney::model::v1::RoutingConfig config;
  if (auto status = ParseProtoJson(json, &config); !status.ok()) return status;
  // Written so that NaN ("NaN" is valid JSON for a double) is refused too.
  if (!(config.canary_percent() >= 0 && config.canary_percent() <= 100) ||
      !(config.shadow_percent() >= 0 && config.shadow_percent() <= 100)) {
    return absl::InvalidArgumentError(absl::StrCat("canary_percent ", config.canary_percent(), " or shadow_percent ",
                                                   config.shadow_percent(), " is outside 0..100"));
  }
  return config;
}

ModelManager::ModelManager(Options options) : options_(std::move(options)) {}

absl::StatusOr<std::unique_ptr<ModelManager>> ModelManager::Create(Options options) {
  if (options.model_base.empty()) return absl::InvalidArgumentError("model_base is empty");
  int64_t pinned = 0;
  if (options.version_policy != "latest") {
    absl::string_view policy = options.version_policy;
    if (!absl::ConsumePrefix(&policy, "pinned:") || !absl::SimpleAtoi(policy, &pinned) || pinned < 1) {
      return absl::InvalidArgumentError(absl::StrCat("version policy '", options.version_policy,
                                                     "' is neither 'latest' nor 'pinned:<positive version>'"));
    }
  }
  if (options.keep_previous < 0) return absl::InvalidArgumentError("keep_previous must not be negative");
  std::unique_ptr<ModelManager> manager(new ModelManager(std::move(options)));
  manager->pinned_version_ = pinned;
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

void ModelManager::PollLoop() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      auto stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; };
      mu_.AwaitWithTimeout(absl::Condition(&stopping), options_.poll_interval);
      if (stopping_) return;
    }
    Rescan();
  }
}

std::string ModelManager::VersionDir(int64_t version) const {
  return (fs::path(options_.model_base) / std::to_string(version)).string();
}

bool ModelManager::EnsureLoaded(int64_t version) {
  const std::string dir = VersionDir(version);
  std::string fingerprint;
  {
    absl::MutexLock lock(&mu_);
    if (loaded_.contains(version)) return true;
    const auto failed = failures_.find(version);
    if (failed != failures_.end()) {
      fingerprint = Fingerprint(dir);
      if (fingerprint == failed->second.fingerprint) return false;
    }
  }
  // Taken before reading, so a copy that completes during the load changes
  // the fingerprint and the version is looked at again.
  if (fingerprint.empty()) fingerprint = Fingerprint(dir);
  loading_.store(version);
  const absl::Time start = absl::Now();
  absl::StatusOr<std::shared_ptr<const Model>> model = Model::Load(dir, version, options_.load_options);
  if (model.ok()) WarmUp(**model, options_.warmup_queries);
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  loading_.store(0);
  if (!model.ok()) {
    // No manifest yet: still being copied in; look again next scan.
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
  int64_t bytes = 0;
  Fingerprint(dir, &bytes);
  absl::MutexLock lock(&mu_);
  failures_.erase(version);
  loaded_[version] = {*std::move(model), bytes, seconds, absl::Now()};
  const Model& loaded = *loaded_[version].model;
  std::fprintf(stderr, "model manager: loaded version %lld in %.3f s (%lld customers, %s)\n",
               static_cast<long long>(version), seconds, static_cast<long long>(loaded.num_customers()),
               loaded.mapped_bytes() == 0 ? "arrays in memory"
               : loaded.mapped_bytes() < (size_t{1} << 20)
                   ? absl::StrCat(loaded.mapped_bytes() >> 10, " KiB of per-customer arrays mapped").c_str()
                   : absl::StrCat(loaded.mapped_bytes() >> 20, " MiB of per-customer arrays mapped").c_str());
  return true;
}

void ModelManager::ReadRoutingFileIfChanged() {
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
  const std::string path = (fs::path(options_.model_base) / kRoutingFile).string();
  struct stat info;
  const std::string stamp = stat(path.c_str(), &info) == 0
                                ? absl::StrCat(info.st_size, ":", info.st_mtim.tv_sec, ".", info.st_mtim.tv_nsec)
                                : "";
  if (stamp == routing_file_stamp_) return;
  routing_file_stamp_ = stamp;
  easymoney::model::v1::RoutingConfig config;
  if (!stamp.empty()) {
    auto json = ReadFileToString(path);
    if (!json.ok()) {
      std::fprintf(stderr, "model manager: cannot read %s: %s\n", path.c_str(),
                   std::string(json.status().message()).c_str());
      return;
    }
    auto parsed = ParseRoutingJson(*json);
    if (!parsed.ok()) {
      std::fprintf(stderr, "model manager: ignoring malformed %s (keeping the current routing): %s\n", path.c_str(),
                   std::string(parsed.status().message()).c_str());
      return;
    }
    config = *std::move(parsed);
  }
  // Routed versions must be loaded before they can serve.
  if (config.stable_version() > 0) EnsureLoaded(config.stable_version());
  if (config.canary_version() > 0) EnsureLoaded(config.canary_version());
  if (config.shadow_version() > 0) EnsureLoaded(config.shadow_version());
  absl::MutexLock lock(&mu_);
  // An admin change committed since we took the generation wins: it also
  // wrote the file, which the next scan reads.
  if (generation != routing_generation_) {
    routing_file_stamp_.clear();
    return;
  }
  routing_ = config;
}

void ModelManager::Rescan() {
  absl::MutexLock scan_lock(&scan_mu_);
  ReadRoutingFileIfChanged();
  auto versions = ListModelVersions(options_.model_base);
  if (!versions.ok()) {
    if (!absl::IsNotFound(versions.status())) {
      std::fprintf(stderr, "model manager: %s\n", std::string(versions.status().message()).c_str());
    }
    return;
  }
  int64_t newest_loaded = 0;
  {
    absl::MutexLock lock(&mu_);
    known_versions_.clear();
    for (int64_t v : *versions) known_versions_[v] = 0;
    std::erase_if(failures_, [&](const auto& entry) { return !known_versions_.contains(entry.first); });
    if (!loaded_.empty()) newest_loaded = loaded_.rbegin()->first;
  }
  if (pinned_version_ > 0) {
    EnsureLoaded(pinned_version_);
  } else {
    // Newest first; the first one that loads is the newest valid version.
    for (auto it = versions->rbegin(); it != versions->rend() && *it > newest_loaded; ++it) {
      if (EnsureLoaded(*it)) break;
    }
  }
  {
    absl::MutexLock lock(&mu_);
    ReconcileLocked();
  }
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

int64_t ModelManager::StableTargetLocked() const {
  int64_t stable = routing_.stable_version();
  if (stable <= 0) stable = pinned_version_ > 0 ? pinned_version_ : (loaded_.empty() ? 0 : loaded_.rbegin()->first);
  if (!loaded_.contains(stable)) {
    // The routed or pinned version is not available: keep what serves.
    const auto current = Current();
    stable = current ? current->stable->version() : 0;
  }
  return stable;
}

void ModelManager::ReconcileLocked() {
  const std::shared_ptr<const ServingSet> current = Current();
  const int64_t stable = StableTargetLocked();
  if (stable == 0) return;
  int64_t canary = routing_.canary_version();
  if (canary == stable || !loaded_.contains(canary)) canary = 0;
  int64_t shadow = routing_.shadow_version();
  if (shadow == stable || !loaded_.contains(shadow)) shadow = 0;

  auto next = std::make_shared<ServingSet>();
  next->stable = loaded_.at(stable).model;
  if (canary > 0) {
    next->canary = loaded_.at(canary).model;
    next->canary_percent = routing_.canary_percent();
    next->salt = routing_.salt();
    next->analysis = routing_.analysis();
  }
  if (shadow > 0) {
    next->shadow = loaded_.at(shadow).model;
    next->shadow_percent = routing_.shadow_percent();
    next->salt = routing_.salt();
    next->shadow_salt = "shadow\x1f" + routing_.salt();
  }
  const bool changed = !current || current->stable != next->stable || current->canary != next->canary ||
                       current->canary_percent != next->canary_percent || current->salt != next->salt ||
                       current->shadow != next->shadow || current->shadow_percent != next->shadow_percent ||
                       current->analysis.SerializeAsString() != next->analysis.SerializeAsString();
  if (changed) {
    if (current && current->stable->version() != stable) {
      std::erase(stable_history_, current->stable->version());
      stable_history_.push_back(current->stable->version());
    }
    std::erase(stable_history_, stable);
    // The request path learns of the new set (on_publish) before Current()
    // reports it, so whoever waits on Current() finds it serving.
    if (options_.on_publish) options_.on_publish(next);
    serving_.store(next, std::memory_order_release);
    std::fprintf(stderr, "model manager: serving stable %lld%s\n", static_cast<long long>(stable),
                 canary > 0 ? absl::StrCat(", canary ", canary, " for ", next->canary_percent, "% of customers").c_str()
                            : "");
  }
  // Keep what serves, the newest loaded version and the last
  // keep_previous stables; requests still holding an evicted version keep
  // it alive until they finish.
  while (static_cast<int>(stable_history_.size()) > options_.keep_previous) {
    stable_history_.erase(stable_history_.begin());
  }
  const int64_t newest = loaded_.empty() ? 0 : loaded_.rbegin()->first;
  for (auto it = loaded_.begin(); it != loaded_.end();) {
    const int64_t v = it->first;
    const bool keep = v == stable || v == canary || v == shadow || v == newest ||
                      std::find(stable_history_.begin(), stable_history_.end(), v) != stable_history_.end();
    it = keep ? std::next(it) : loaded_.erase(it);
  }
}

absl::Status ModelManager::PersistRoutingLocked() {
  const std::string json = ProtoToJson(routing_);
  std::error_code error;
  fs::create_directories(options_.model_base, error);
  const std::string path = (fs::path(options_.model_base) / kRoutingFile).string();
  const std::string temporary = path + ".tmp";
  if (auto status = WriteStringToFile(temporary, json); !status.ok()) {
    std::remove(temporary.c_str());
    return status;
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    std::remove(temporary.c_str());
    return absl::InternalError(absl::StrCat("cannot rename ", temporary, " to ", path));
  }
  // The rename is durable only once the directory is synced.
  const int dir_fd = open(options_.model_base.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    fsync(dir_fd);
    close(dir_fd);
  }
  return absl::OkStatus();
}

absl::StatusOr<RoutingState> ModelManager::SetRouting(const RoutingChange& change) {
  for (const auto& [name, percent] : {std::pair<const char*, double>{"canary_percent", change.canary_percent},
                                      std::pair<const char*, double>{"shadow_percent", change.shadow_percent}}) {
    if (!(percent >= 0 && percent <= 100)) {
      return absl::InvalidArgumentError(absl::StrCat(name, " ", percent, " is outside 0..100"));
    }
  }
  if (change.stable_version < -1 || change.canary_version < 0 || change.shadow_version < 0) {
    return absl::InvalidArgumentError("stable_version must be >= -1, canary_version and shadow_version >= 0");
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
      if (auto status = check_loadable(version); !status.ok()) return status;
    }
  }
  absl::MutexLock lock(&mu_);
  // The poll thread may have evicted a version between the check above and
  // this lock.
  for (int64_t version : {change.stable_version, change.canary_version, change.shadow_version}) {
    if (version > 0 && !loaded_.contains(version)) {
      return absl::AbortedError(absl::StrCat("version ", version, " was unloaded concurrently; retry"));
    }
  }
  const easymoney::model::v1::RoutingConfig before = routing_;
  const auto current = Current();
  if (change.stable_version == -1) {
    routing_.set_stable_version(0);
  } else if (change.stable_version > 0) {
    routing_.set_stable_version(change.stable_version);
  } else if (current && routing_.stable_version() == 0 && change.canary_version > 0) {
    // Starting a rollout pins the stable so a newer version appearing
    // mid-rollout does not replace it unannounced.
    routing_.set_stable_version(current->stable->version());
  }
  routing_.set_canary_version(change.canary_version);
  routing_.set_canary_percent(change.canary_version > 0 ? change.canary_percent : 0);
  if (!change.salt.empty()) routing_.set_salt(change.salt);
  routing_.set_shadow_version(change.shadow_version);
  routing_.set_shadow_percent(change.shadow_version > 0 ? change.shadow_percent : 0);
  *routing_.mutable_analysis() = change.analysis;
  const int64_t stable_after = StableTargetLocked();
  if (change.canary_version > 0 && change.canary_version == stable_after) {
    routing_ = before;
    return absl::FailedPreconditionError(absl::StrCat("version ", change.canary_version,
                                                      " is the stable version; a canary must be another version"));
  }
  return ApplyRoutingLocked(before);
}

absl::StatusOr<RoutingState> ModelManager::AbandonCanary(int64_t canary_version, const std::string& reason) {
  absl::MutexLock lock(&mu_);
  const auto current = Current();
  if (!current || !current->canary || current->canary->version() != canary_version) {
    return absl::FailedPreconditionError(absl::StrCat("version ", canary_version, " is not the canary"));
  }
  const easymoney::model::v1::RoutingConfig before = routing_;
  routing_.set_stable_version(current->stable->version());
  routing_.set_canary_version(0);
  routing_.set_canary_percent(0);
  routing_.set_last_auto_rollback(absl::StrCat(
      absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::Now(), absl::UTCTimeZone()), ": canary ", canary_version,
      " rolled back: ", reason));
  return ApplyRoutingLocked(before);
}

absl::StatusOr<RoutingState> ModelManager::ApplyRoutingLocked(const easymoney::model::v1::RoutingConfig& before) {
  // Persist first: a routing that serves but is not on disk would be undone
  // by the next restart.
  if (auto status = PersistRoutingLocked(); !status.ok()) {
    routing_ = before;
    return status;
  }
  ++routing_generation_;
  ReconcileLocked();
  return RoutingLocked();
}

absl::StatusOr<RoutingState> ModelManager::PromoteCanary() {
  absl::MutexLock lock(&mu_);
  const auto current = Current();
  if (!current || !current->canary) return absl::FailedPreconditionError("no canary is serving");
  const easymoney::model::v1::RoutingConfig before = routing_;
  routing_.set_stable_version(current->canary->version());
  routing_.set_canary_version(0);
  routing_.set_canary_percent(0);
  return ApplyRoutingLocked(before);
}

absl::StatusOr<RoutingState> ModelManager::Rollback() {
  absl::MutexLock lock(&mu_);
  const easymoney::model::v1::RoutingConfig before = routing_;
  const auto current = Current();
  if (current && current->canary) {
    // During a rollout, rolling back means abandoning the canary; the
    // stable version stays.
    routing_.set_stable_version(current->stable->version());
  } else {
    if (stable_history_.empty() || !loaded_.contains(stable_history_.back())) {
      return absl::FailedPreconditionError("no previous stable version is loaded");
    }
    routing_.set_stable_version(stable_history_.back());
  }
  routing_.set_canary_version(0);
  routing_.set_canary_percent(0);
  return ApplyRoutingLocked(before);
}

RoutingState ModelManager::RoutingLocked() const {
  RoutingState state;
  const auto current = Current();
  if (current) {
    state.stable_version = current->stable->version();
    if (current->canary) {
      state.canary_version = current->canary->version();
      state.canary_percent = current->canary_percent;
    }
  }
  state.salt = routing_.salt();
  state.previous_stable_version = stable_history_.empty() ? 0 : stable_history_.back();
  if (current && current->shadow) {
    state.shadow_version = current->shadow->version();
    state.shadow_percent = current->shadow_percent;
  }
  state.analysis = routing_.analysis();
  state.last_auto_rollback = routing_.last_auto_rollback();
  return state;
}

RoutingState ModelManager::Routing() const {
  absl::MutexLock lock(&mu_);
  return RoutingLocked();
}

std::vector<VersionStatus> ModelManager::ListVersions() const {
  absl::MutexLock lock(&mu_);
  const auto current = Current();
  std::map<int64_t, VersionStatus> statuses;
  for (const auto& [version, size] : known_versions_) {
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
