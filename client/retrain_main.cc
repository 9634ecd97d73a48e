// recommender-retrain: one step of the monthly retraining loop, then exit
// (docs/operations.md, "Monthly retraining"). A schedule runs it again and
// again; every run is safe to repeat.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/fleet_counters.h"
#include "client/recommender_client.h"
#include "client/security_flags.h"
#include "core/model/easymoney_schema.h"
#include "core/training/retraining.h"
#include "core/util/json_string.h"
#include "core/util/tool_flags.h"

ABSL_FLAG(std::string, data, "", "Directory of the easyMoney tables (monthly partitions; the newest may be new).");
ABSL_FLAG(std::string, model_base, "",
          "The shared model storage every replica follows (versions and routing.json; sync-models mirrors it).");
ABSL_FLAG(std::string, target, "",
          "A server's gRPC address for ModelAdmin (with the --tls* and --token-file flags, an admin token): after "
          "routing.json changes, Rescan makes that replica follow at once (the others follow at their next poll). "
          "Empty: no call.");
ABSL_FLAG(std::string, metrics_targets, "",
          "Comma-separated host:port of every replica's /metrics (a name resolving to several addresses, such as a "
          "headless Service, is all of them). Needed to decide on a canary: the decision sums all replicas.");
ABSL_FLAG(double, canary_percent, 10, "Share of customers routed to a new version while it is the canary (0..100).");
ABSL_FLAG(double, max_loss_vs_stable, 0.05,
          "Gate: the candidate's realised MAP@k on the new month may be below the stable's by at most this share "
          "of it (0.05: 5%).");
ABSL_FLAG(double, max_loss_vs_popularity, 0.2,
          "Gate: the candidate's realised MAP@k may be below the popularity baseline's by at most this share of it.");
ABSL_FLAG(bool, block_new_fairness_flags, true,
          "Gate: refuse a candidate whose backtest flags a fairness dimension the stable did not flag.");
ABSL_FLAG(double, fairness_gap, 0.5,
          "The fairness flag's threshold: a gap between groups above this share of the overall MAP.");
ABSL_FLAG(double, max_row_count_change, 0.5, "Validation: largest |rows(new)/rows(previous) - 1|.");
ABSL_FLAG(double, max_missing_rate, 0.5, "Validation: largest share of a column's values missing or invalid.");
ABSL_FLAG(double, max_missing_rate_rise, 0.05, "Validation: largest rise of a column's missing share in a month.");
ABSL_FLAG(double, max_empty_product_flags, 0.01, "Validation: largest share of empty product flag fields.");
ABSL_FLAG(double, min_returning_customers, 0.9,
          "Validation: smallest share of the previous month's customers present in the new one.");
ABSL_FLAG(double, max_feature_psi, 0.2, "Validation: largest PSI of a customer feature against the previous month.");
ABSL_FLAG(double, min_impressions, 1000, "Promotion: impressions each variant needs, summed over replicas.");
ABSL_FLAG(double, loss_z, 1.96,
          "Promotion: a canary CTR or conversion rate this many standard errors below the stable's is a loss.");
ABSL_FLAG(double, max_error_ratio_increase, 0.01,
          "Promotion: largest server-error ratio of the canary above the stable's (absolute).");
ABSL_FLAG(double, max_p99_ratio, 1.5,
          "Promotion: largest canary/stable p99 latency ratio (p99s under 1 ms count as 1 ms).");
ABSL_FLAG(std::string, override_reason, "",
          "Publish a month or candidate the gates block, recording this reason and what blocked it in the run "
          "record (MODEL_BASE/retrain_log.jsonl). Empty: gates block.");
ABSL_FLAG(int, factors, 0, "Training: SVD rank (0 chooses it on the validation month).");
ABSL_FLAG(int, clusters, 0, "Training: k-means k (0 chooses by silhouette).");
ABSL_FLAG(int, backtest_months, 3, "Training: months in the rolling backtest.");
ABSL_FLAG(uint64_t, seed, 42, "Training: random seed.");
ABSL_FLAG(std::string, feedback_log, "",
          "Training: the servers' event log directory; conversions become holdings of the refit (recommender-train "
          "--feedback-log).");

namespace {

constexpr char kUsage[] =
    "recommender-retrain: one step of the monthly retraining loop, then exit.\n"
    "Decides on a pending canary (promoted, rolled_back or waiting, from every replica's counters);\n"
    "else, for a month no version was trained on: validates it, measures the stable version on it,\n"
    "trains a candidate on the months before and gates it against the stable and popularity, then\n"
    "refits on all months, publishes the version and routes it as the canary (published_canary,\n"
    "published_first for the first version, blocked when a gate refuses, nothing_new otherwise).\n"
    "\n"
    "  recommender-retrain --data data/easymoney --model-base /shared/models \\\n"
    "      --metrics-targets recommender-headless:9464 --target recommender:50051 --tls --token-file pipeline.token\n"
    "\n"
    "Stdout's last line is one JSON object: time, action, reason, version and the figures. Every run\n"
    "appends the same object to MODEL_BASE/retrain_log.jsonl.\n"
    "Exit status: 0 when it did what the state called for (nothing included), 3 when a gate blocked\n"
    "the new month (nothing published, routing untouched), 1 on errors, 2 on usage errors.\n"
    "Connection to --target: --tls or --tls-ca FILE for TLS, --tls-cert/--tls-key for mutual TLS,\n"
    "--token-file FILE (or $RECOMMENDER_TOKEN) for the admin bearer token; plaintext without --tls*.";

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args = easymoney::ParseToolFlags(argc, argv, kUsage);
  if (args.size() > 1) {
    std::fprintf(stderr, "recommender-retrain: unexpected argument '%s' (see --help)\n", args[1].c_str());
    return 2;
  }
  easymoney::RetrainOptions options;
  options.data_dir = absl::GetFlag(FLAGS_data);
  options.model_base = absl::GetFlag(FLAGS_model_base);
  if (options.data_dir.empty() || options.model_base.empty()) {
    std::fprintf(stderr, "recommender-retrain: --data and --model-base are required (see --help)\n");
    return 2;
  }
  options.canary_percent = absl::GetFlag(FLAGS_canary_percent);
  if (!(options.canary_percent > 0 && options.canary_percent < 100)) {
    std::fprintf(stderr, "recommender-retrain: --canary-percent must be above 0 and below 100\n");
    return 2;
  }
  options.max_loss_vs_stable = absl::GetFlag(FLAGS_max_loss_vs_stable);
  options.max_loss_vs_popularity = absl::GetFlag(FLAGS_max_loss_vs_popularity);
  options.block_new_fairness_flags = absl::GetFlag(FLAGS_block_new_fairness_flags);
  options.trainer.fairness_gap_threshold = absl::GetFlag(FLAGS_fairness_gap);
  options.trainer.num_factors = absl::GetFlag(FLAGS_factors);
  options.trainer.num_clusters = absl::GetFlag(FLAGS_clusters);
  options.trainer.backtest_months = absl::GetFlag(FLAGS_backtest_months);
  options.trainer.seed = absl::GetFlag(FLAGS_seed);
  options.trainer.feedback_log_dir = absl::GetFlag(FLAGS_feedback_log);
  options.validation.max_row_count_change = absl::GetFlag(FLAGS_max_row_count_change);
  options.validation.max_missing_rate = absl::GetFlag(FLAGS_max_missing_rate);
  options.validation.max_missing_rate_rise = absl::GetFlag(FLAGS_max_missing_rate_rise);
  options.validation.max_empty_product_flags = absl::GetFlag(FLAGS_max_empty_product_flags);
  options.validation.min_returning_customers = absl::GetFlag(FLAGS_min_returning_customers);
  options.validation.max_feature_psi = absl::GetFlag(FLAGS_max_feature_psi);
  options.promotion.min_impressions = absl::GetFlag(FLAGS_min_impressions);
  options.promotion.loss_z = absl::GetFlag(FLAGS_loss_z);
  options.promotion.max_error_ratio_increase = absl::GetFlag(FLAGS_max_error_ratio_increase);
  options.promotion.max_p99_ratio = absl::GetFlag(FLAGS_max_p99_ratio);
  options.override_reason = absl::GetFlag(FLAGS_override_reason);

  std::vector<std::string> metrics_targets;
  for (absl::string_view target : absl::StrSplit(absl::GetFlag(FLAGS_metrics_targets), ',', absl::SkipEmpty())) {
    metrics_targets.emplace_back(target);
  }
  const auto counters = [&](int64_t stable, int64_t canary) -> absl::StatusOr<easymoney::FleetCounters> {
    if (metrics_targets.empty()) {
      return absl::FailedPreconditionError(
          "a canary is pending and --metrics-targets is empty: the decision needs every replica's counters");
    }
    return easymoney::ScrapeFleetCounters(metrics_targets, stable, canary);
  };

  const absl::Time start = absl::Now();
  absl::StatusOr<easymoney::RetrainResult> result = easymoney::RunRetrainStep(options, counters);
  std::string record = absl::StrCat(
      "{\"time\":", easymoney::JsonString(absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", start, absl::UTCTimeZone())),
      ",\"data\":", easymoney::JsonString(options.data_dir), ",\"model_base\":",
      easymoney::JsonString(options.model_base));
  if (!result.ok()) {
    absl::StrAppend(&record, ",\"action\":\"error\",\"reason\":", easymoney::JsonString(result.status().ToString()),
                    "}");
    std::fprintf(stderr, "recommender-retrain: %s\n", result.status().ToString().c_str());
    (void)easymoney::AppendRunRecord(options.model_base, record);
    std::printf("%s\n", record.c_str());
    return 1;
  }
  absl::StrAppend(&record, ",\"action\":", easymoney::JsonString(result->action),
                  ",\"reason\":", easymoney::JsonString(result->reason), ",\"version\":", result->version,
                  result->details_json.empty() ? "" : ",", result->details_json, "}");

  // The record first: whatever happens to the Rescan below, what was
  // published and routed is on record.
  int exit_code = result->blocked() ? 3 : 0;
  if (absl::Status appended = easymoney::AppendRunRecord(options.model_base, record); !appended.ok()) {
    std::fprintf(stderr, "recommender-retrain: %s\n", appended.ToString().c_str());
    exit_code = 1;
  }
  // Routing changed: the replica behind --target follows at once (its
  // ModelAdmin call is audited under the pipeline's token); the others, and
  // this one if the call fails, follow at their next poll.
  const bool routing_changed = result->action == "published_first" || result->action == "published_canary" ||
                               result->action == "promoted" || result->action == "rolled_back";
  const std::string target = absl::GetFlag(FLAGS_target);
  if (routing_changed && !target.empty()) {
    absl::Status rescan;
    auto security = easymoney::ChannelSecurityFromFlags();
    if (!security.ok()) {
      rescan = security.status();
    } else {
      easymoney::RecommenderClient::Options client_options;
      client_options.target = target;
      client_options.security = *security;
      client_options.operator_name = "recommender-retrain";
      auto client = easymoney::RecommenderClient::Create(client_options);
      rescan = client.ok() ? client->get()->Rescan().status() : client.status();
    }
    if (!rescan.ok()) {
      std::fprintf(stderr, "recommender-retrain: Rescan on %s failed (replicas follow at their next poll): %s\n",
                   target.c_str(), rescan.ToString().c_str());
    }
  }
  std::fprintf(stderr, "recommender-retrain: %s: %s\n", result->action.c_str(), result->reason.c_str());
  std::printf("%s\n", record.c_str());
  return exit_code;
}
