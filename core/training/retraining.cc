#include "core/training/retraining.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "core/model/model.h"
#include "core/model/model_directory.h"
#include "core/serving/router.h"
#include "core/serving/routing_file.h"
#include "core/training/realised_quality.h"
#include "core/util/file_io.h"
#include "core/util/json_string.h"
#include "core/util/proto_json.h"
#include "easymoney/model/v1/quality.pb.h"

namespace easymoney {
namespace {

namespace v1 = easymoney::model::v1;

std::string CountersJson(const VariantCounters& c) {
  return absl::StrFormat(
      "{\"requests\":%.0f,\"server_errors\":%.0f,\"impressions\":%.0f,\"clicks\":%.0f,\"conversions\":%.0f,"
      "\"p99_seconds\":%.6g}",
      c.requests, c.server_errors, c.impressions, c.clicks, c.conversions, std::isnan(c.p99_seconds) ? -1.0 : c.p99_seconds);
}

std::string MetricsJson(const RankingMetrics& m) {
  return absl::StrFormat(
      "{\"map\":%.6f,\"map_relevant\":%.6f,\"precision\":%.6f,\"recall\":%.6f,\"customers\":%d,"
      "\"relevant_customers\":%d}",
      m.map, m.map_relevant, m.precision, m.recall, m.customers, m.relevant_customers);
}

// z of the canary's rate against the stable's (negative: the canary is lower).
double TwoProportionZ(double stable_hits, double stable_n, double canary_hits, double canary_n) {
  if (stable_n <= 0 || canary_n <= 0) return 0;
  const double pooled = (stable_hits + canary_hits) / (stable_n + canary_n);
  const double se = std::sqrt(pooled * (1 - pooled) * (1 / stable_n + 1 / canary_n));
  if (se <= 0) return 0;
  return (canary_hits / canary_n - stable_hits / stable_n) / se;
}

absl::StatusOr<std::shared_ptr<const Model>> LoadVersion(const std::string& model_base, int64_t version) {
  return Model::Load(absl::StrCat(model_base, "/", version), version);
}

// The newest version under the model base that loads, or null; `loaded`
// (may be null) is returned instead of loading its version again.
absl::StatusOr<std::shared_ptr<const Model>> NewestVersion(const std::string& model_base,
                                                           const std::shared_ptr<const Model>& loaded) {
  auto versions = ListModelVersions(model_base);
  if (!versions.ok()) return versions.status();
  std::sort(versions->rbegin(), versions->rend());
  for (int64_t version : *versions) {
    if (loaded != nullptr && loaded->version() == version) return loaded;
    auto model = LoadVersion(model_base, version);
    if (model.ok()) return model;
    std::fprintf(stderr, "recommender-retrain: version %lld does not load (%s); trying an older one\n",
                 static_cast<long long>(version), std::string(model.status().message()).c_str());
  }
  return std::shared_ptr<const Model>();
}

// The stable version: the one routing.json pins, else the newest.
absl::StatusOr<std::shared_ptr<const Model>> CurrentStable(const std::string& model_base,
                                                           const v1::RoutingConfig& routing) {
  if (routing.stable_version() != 0) return LoadVersion(model_base, routing.stable_version());
  return NewestVersion(model_base, nullptr);
}

// Dimensions the backtest flagged ("FLAG segment: ...").
std::vector<std::string> FlaggedDimensions(const std::vector<std::string>& lines) {
  std::vector<std::string> flagged;
  for (const std::string& line : lines) {
    if (line.rfind("FLAG ", 0) != 0) continue;
    const size_t colon = line.find(':');
    flagged.push_back(line.substr(5, colon == std::string::npos ? std::string::npos : colon - 5));
  }
  return flagged;
}

// Whether `version` was rolled back: routing.json's last rollback names it,
// or a run record of the tool (MODEL_BASE/retrain_log.jsonl) does.
bool WasRolledBack(const std::string& model_base, const v1::RoutingConfig& routing, int64_t version) {
  if (absl::StrContains(routing.last_auto_rollback(), absl::StrCat(": canary ", version, " rolled back"))) return true;
  absl::StatusOr<std::string> log = ReadFileToString(absl::StrCat(model_base, "/retrain_log.jsonl"));
  if (!log.ok()) return false;
  const std::string version_field = absl::StrCat("\"version\":", version, ",");
  for (absl::string_view line : absl::StrSplit(*log, '\n')) {
    if (absl::StrContains(line, "\"action\":\"rolled_back\"") && absl::StrContains(line, version_field)) return true;
  }
  return false;
}

absl::Status WriteRouting(const std::string& model_base, const v1::RoutingConfig& config) {
  return RoutingFile(model_base).Write(config);
}

// Measurements kept in realised_quality.json (a few years of months, for a
// handful of versions each).
constexpr int kMaxQualityMeasurements = 100;

// Appends the stable's measurement to MODEL_BASE/realised_quality.json
// (atomically: temporary file, rename), where the servers export it.
absl::Status RecordRealisedQuality(const std::string& model_base, int64_t version, const std::string& partition,
                                   int k, const RankingMetrics& model, const RankingMetrics& popularity) {
  const std::string path = absl::StrCat(model_base, "/realised_quality.json");
  v1::RealisedQuality quality;
  if (std::filesystem::exists(path)) {
    absl::StatusOr<std::string> text = ReadFileToString(path);
    if (!text.ok()) return text.status();
    if (absl::Status parsed = ParseProtoJson(*text, &quality); !parsed.ok()) {
      std::fprintf(stderr, "recommender-retrain: %s does not parse (%s); starting it anew\n", path.c_str(),
                   std::string(parsed.message()).c_str());
      quality.Clear();
    }
  }
  // One measurement per (version, month): a repeated run replaces it.
  auto* measurements = quality.mutable_measurements();
  for (int i = measurements->size() - 1; i >= 0; --i) {
    if (measurements->Get(i).model_version() == version && measurements->Get(i).partition() == partition) {
      measurements->DeleteSubrange(i, 1);
    }
  }
  v1::VersionQuality* added = quality.add_measurements();
  added->set_model_version(version);
  added->set_partition(partition);
  added->set_k(k);
  added->set_map(model.map);
  added->set_popularity_map(popularity.map);
  added->set_map_relevant(model.map_relevant);
  added->set_popularity_map_relevant(popularity.map_relevant);
  added->set_customers(model.customers);
  added->set_relevant_customers(model.relevant_customers);
  added->set_measured_at(absl::FormatTime(absl::RFC3339_sec, absl::Now(), absl::UTCTimeZone()));
  if (measurements->size() > kMaxQualityMeasurements) {
    measurements->DeleteSubrange(0, measurements->size() - kMaxQualityMeasurements);
  }
  const std::string temporary = path + ".tmp";
  if (absl::Status written = WriteStringToFile(temporary, ProtoToJson(quality)); !written.ok()) return written;
  std::error_code renamed;
  std::filesystem::rename(temporary, path, renamed);
  if (renamed) return absl::InternalError(absl::StrCat("cannot rename ", temporary, " to ", path, ": ", renamed.message()));
  return absl::OkStatus();
}

}  // namespace

RetrainResult DecideCanary(const FleetCounters& counters, const PromotionCriteria& criteria) {
  const VariantCounters& s = counters.stable;
  const VariantCounters& c = counters.canary;
  RetrainResult result;
  if (s.impressions < criteria.min_impressions || c.impressions < criteria.min_impressions) {
    result.action = "waiting";
    result.reason = absl::StrFormat("%.0f stable and %.0f canary impressions over %d replicas; %.0f each needed",
                                    s.impressions, c.impressions, counters.replicas, criteria.min_impressions);
    return result;
  }
  const double stable_errors = s.requests > 0 ? s.server_errors / s.requests : 0;
  const double canary_errors = c.requests > 0 ? c.server_errors / c.requests : 0;
  const double ctr_z = TwoProportionZ(s.clicks, s.impressions, c.clicks, c.impressions);
  const double conversion_z = TwoProportionZ(s.conversions, s.impressions, c.conversions, c.impressions);
  std::vector<std::string> losses;
  if (canary_errors - stable_errors > criteria.max_error_ratio_increase) {
    losses.push_back(absl::StrFormat("server-error ratio %.4f against the stable's %.4f", canary_errors, stable_errors));
  }
  if (c.p99_seconds > criteria.max_p99_ratio * std::max(s.p99_seconds, criteria.p99_floor_seconds)) {
    losses.push_back(absl::StrFormat("p99 %.4f s against the stable's %.4f s", c.p99_seconds, s.p99_seconds));
  }
  if (ctr_z < -criteria.loss_z) {
    losses.push_back(absl::StrFormat("CTR %.4f against the stable's %.4f (z = %.2f)", c.clicks / c.impressions,
                                     s.clicks / s.impressions, ctr_z));
  }
  if (conversion_z < -criteria.loss_z) {
    losses.push_back(absl::StrFormat("conversion rate %.4f against the stable's %.4f (z = %.2f)",
                                     c.conversions / c.impressions, s.conversions / s.impressions, conversion_z));
  }
  if (!losses.empty()) {
    result.action = "rolled_back";
    result.reason = absl::StrCat("the canary loses: ", absl::StrJoin(losses, "; "));
  } else {
    result.action = "promoted";
    result.reason = absl::StrFormat(
        "no significant loss over %d replicas: CTR z = %.2f, conversion z = %.2f, server-error ratio %.4f vs %.4f",
        counters.replicas, ctr_z, conversion_z, canary_errors, stable_errors);
  }
  return result;
}

absl::StatusOr<RetrainResult> RunRetrainStep(const RetrainOptions& options, const FleetCounterSource& counters) {
  std::error_code created;
  std::filesystem::create_directories(options.model_base, created);
  if (created) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create the model base ", options.model_base, ": ", created.message()));
  }
  RoutingFile routing_file(options.model_base);
  auto read = routing_file.ReadIfChanged();
  if (!read.ok()) return read.status();
  v1::RoutingConfig routing = read->value_or(v1::RoutingConfig());

  // A rollout in progress: decide on it before anything new.
  if (routing.canary_version() != 0) {
    const int64_t stable = routing.stable_version();
    const int64_t canary = routing.canary_version();
    auto fleet = counters(stable, canary);
    if (!fleet.ok()) return fleet.status();
    RetrainResult decision = DecideCanary(*fleet, options.promotion);
    decision.version = canary;
    decision.details_json = absl::StrCat("\"stable_version\":", stable, ",\"canary_version\":", canary,
                                         ",\"replicas\":", fleet->replicas, ",\"stable\":", CountersJson(fleet->stable),
                                         ",\"canary\":", CountersJson(fleet->canary));
    if (decision.action == "promoted") {
      if (auto status = WriteRouting(options.model_base, PromotedRouting(routing, canary)); !status.ok()) return status;
    } else if (decision.action == "rolled_back") {
      if (auto status = WriteRouting(options.model_base,
                                     AbandonedRouting(routing, stable, canary, decision.reason, absl::Now()));
          !status.ok()) {
        return status;
      }
    }
    return decision;
  }

  auto stable = CurrentStable(options.model_base, routing);
  if (!stable.ok()) return stable.status();
  auto tables = ReadEasyMoneyTables(options.data_dir);
  if (!tables.ok()) return tables.status();
  const int newest = tables->newest_partition;
  const std::string newest_name(kPartitions[static_cast<size_t>(newest)]);
  TrainerOptions trainer = options.trainer;
  trainer.model_base = options.model_base;
  trainer.data_dir = options.data_dir;
  trainer.k = options.k;

  RetrainResult result;
  if (*stable == nullptr) {
    // Nothing serves yet: the first version becomes the stable one.
    auto trained = TrainEasyMoneyModel(*tables, trainer);
    if (!trained.ok()) return trained.status();
    v1::RoutingConfig first;
    first.set_stable_version(trained->version);
    if (auto status = WriteRouting(options.model_base, first); !status.ok()) return status;
    result.action = "published_first";
    result.version = trained->version;
    result.reason = absl::StrCat("no version served: version ", trained->version, " trained on ", newest_name,
                                 " is the stable one");
    return result;
  }
  // The newest version, stable or not: a month whose canary was rolled
  // back is not tried again until the next month arrives.
  auto newest_version = NewestVersion(options.model_base, *stable);
  if (!newest_version.ok()) return newest_version.status();
  const std::string& trained_partition = (*newest_version)->manifest().training().partition();
  if (trained_partition >= newest_name && (*newest_version)->version() > (*stable)->version() &&
      !WasRolledBack(options.model_base, routing, (*newest_version)->version())) {
    // A step that published this version was stopped before it routed it
    // (the publication and the routing are two writes): route it now.
    const int64_t version = (*newest_version)->version();
    if (routing.stable_version() == 0) routing.set_stable_version((*stable)->version());
    routing.set_canary_version(version);
    routing.set_canary_percent(options.canary_percent);
    routing.set_salt(absl::StrCat("retrain-", version));
    routing.mutable_analysis()->set_enabled(false);
    if (auto status = WriteRouting(options.model_base, routing); !status.ok()) return status;
    result.action = "published_canary";
    result.version = version;
    result.reason = absl::StrFormat("version %d, published for %s by a step stopped before it routed it, routed to "
                                    "%.4g%% as the canary",
                                    version, newest_name, options.canary_percent);
    return result;
  }
  if (trained_partition >= newest_name) {
    result.action = "nothing_new";
    result.reason = absl::StrCat("the newest partition, ", newest_name, ", is the one version ",
                                 (*newest_version)->version(), " was trained on; stable version ",
                                 (*stable)->version());
    return result;
  }

  // The new month, validated before anything is trained on it.
  auto validation = ValidateNewestMonth(*tables, options.validation);
  if (!validation.ok()) return validation.status();
  result.details_json = absl::StrCat("\"validation\":", validation->ToJson());
  std::vector<std::string> overridden;
  if (!validation->passed()) {
    const std::string why = absl::StrCat("month ", newest_name, " failed validation: ", validation->FailureSummary());
    if (options.override_reason.empty()) {
      result.action = "blocked";
      result.reason = why;
      return result;
    }
    overridden.push_back(why);
  }

  // The candidate: trained on the months before the new one, measured on
  // the new one beside the stable and popularity (the same customers).
  const std::filesystem::path scratch =
      std::filesystem::temp_directory_path() / absl::StrCat("recommender-retrain-", ::getpid());
  std::filesystem::remove_all(scratch);
  TrainerOptions candidate_options = trainer;
  candidate_options.model_base = scratch.string();
  candidate_options.last_partition = newest - 1;
  candidate_options.feedback_log_dir.clear();
  auto candidate_trained = TrainEasyMoneyModel(*tables, candidate_options);
  if (!candidate_trained.ok()) return candidate_trained.status();
  auto candidate = Model::Load(candidate_trained->version_dir, candidate_trained->version);
  if (!candidate.ok()) return candidate.status();
  const Model* models[] = {stable->get(), candidate->get()};
  auto quality = MeasureRealisedQuality(*tables, newest, models, options.k);
  std::error_code ignored;
  std::filesystem::remove_all(scratch, ignored);
  if (!quality.ok()) return quality.status();
  const RankingMetrics& stable_quality = quality->models[0];
  const RankingMetrics& candidate_quality = quality->models[1];
  // The concept-drift signal, whatever the gate decides: the servers export
  // it beside the version's own backtest figure.
  if (absl::Status recorded = RecordRealisedQuality(options.model_base, (*stable)->version(), newest_name, options.k,
                                                    stable_quality, quality->popularity);
      !recorded.ok()) {
    return recorded;
  }
  absl::StrAppend(&result.details_json, ",\"quality\":{\"partition\":", JsonString(newest_name),
                  ",\"stable_version\":", (*stable)->version(), ",\"stable\":", MetricsJson(stable_quality),
                  ",\"candidate\":", MetricsJson(candidate_quality),
                  ",\"popularity\":", MetricsJson(quality->popularity), "}");

  std::vector<std::string> refusals;
  if (candidate_quality.map < stable_quality.map * (1 - options.max_loss_vs_stable)) {
    refusals.push_back(absl::StrFormat("MAP@%d %.4f is below the stable's %.4f by more than %.0f%%", options.k,
                                       candidate_quality.map, stable_quality.map, 100 * options.max_loss_vs_stable));
  }
  if (candidate_quality.map < quality->popularity.map * (1 - options.max_loss_vs_popularity)) {
    refusals.push_back(absl::StrFormat("MAP@%d %.4f is below popularity's %.4f by more than %.0f%%", options.k,
                                       candidate_quality.map, quality->popularity.map,
                                       100 * options.max_loss_vs_popularity));
  }
  if (options.block_new_fairness_flags) {
    const std::vector<std::string> before = FlaggedDimensions(
        {(*stable)->manifest().evaluation().fairness().begin(), (*stable)->manifest().evaluation().fairness().end()});
    for (const std::string& dimension : FlaggedDimensions(candidate_trained->report.fairness_flags)) {
      if (std::find(before.begin(), before.end(), dimension) == before.end()) {
        refusals.push_back(absl::StrCat("a new fairness flag on ", dimension));
      }
    }
  }
  if (!refusals.empty()) {
    const std::string why = absl::StrCat("the candidate trained to ", kPartitions[static_cast<size_t>(newest - 1)],
                                         " is not blessed on ", newest_name, ": ", absl::StrJoin(refusals, "; "));
    if (options.override_reason.empty()) {
      result.action = "blocked";
      result.reason = why;
      return result;
    }
    overridden.push_back(why);
  }
  if (!overridden.empty()) {
    absl::StrAppend(&result.details_json, ",\"override\":{\"reason\":", JsonString(options.override_reason),
                    ",\"blocked_by\":", JsonString(absl::StrJoin(overridden, "; ")), "}");
  }

  // Pin the stable first, so that no version policy makes the new version
  // stable the moment it appears; then publish; then route the canary.
  if (routing.stable_version() == 0) {
    routing.set_stable_version((*stable)->version());
    if (auto status = WriteRouting(options.model_base, routing); !status.ok()) return status;
  }
  auto trained = TrainEasyMoneyModel(*tables, trainer);
  if (!trained.ok()) return trained.status();
  routing.set_canary_version(trained->version);
  routing.set_canary_percent(options.canary_percent);
  routing.set_salt(absl::StrCat("retrain-", trained->version));
  // The fleet's decision is this loop's, on every replica's counters: no
  // replica ends the rollout on its own share of the traffic.
  routing.mutable_analysis()->set_enabled(false);
  if (auto status = WriteRouting(options.model_base, routing); !status.ok()) return status;
  result.action = "published_canary";
  result.version = trained->version;
  result.reason = absl::StrFormat(
      "month %s passed validation; the candidate's realised MAP@%d %.4f against the stable's %.4f and popularity's "
      "%.4f; version %d routed to %.4g%% as the canary",
      newest_name, options.k, candidate_quality.map, stable_quality.map, quality->popularity.map, trained->version,
      options.canary_percent);
  return result;
}

absl::Status AppendRunRecord(const std::string& model_base, const std::string& record) {
  const std::string path = absl::StrCat(model_base, "/retrain_log.jsonl");
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return absl::InternalError(absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  const std::string line = record + "\n";
  const bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!written || !synced) return absl::InternalError(absl::StrCat("cannot append to ", path, ": ", std::strerror(errno)));
  return absl::OkStatus();
}

}  // namespace easymoney
