#ifndef EASYMONEY_CORE_TRAINING_RETRAINING_H_
#define EASYMONEY_CORE_TRAINING_RETRAINING_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "core/training/month_validation.h"
#include "core/training/trainer.h"

namespace easymoney {

// One variant's serving and feedback counters, summed over every replica of
// the fleet (the caller reads them; recommender-retrain scrapes each
// replica's /metrics).
struct VariantCounters {
  double requests = 0;
  double server_errors = 0;
  double impressions = 0;
  double clicks = 0;
  double conversions = 0;
  // 99th percentile latency from the summed histogram; NaN when unknown.
  double p99_seconds = 0;
};

struct FleetCounters {
  int replicas = 0;
  VariantCounters stable;
  VariantCounters canary;
};

// When a canary is promoted or rolled back (the Flagger role).
struct PromotionCriteria {
  // Impressions each variant needs before anything is decided.
  double min_impressions = 1000;
  // One-sided z of a two-proportion test: a canary CTR or conversion rate
  // below the stable's by more than this many standard errors is a loss.
  double loss_z = 1.96;
  // Server-error ratio of the canary above the stable's by more than this
  // (absolute), or its p99 above max_p99_ratio times the stable's: a loss.
  double max_error_ratio_increase = 0.01;
  double max_p99_ratio = 1.5;
  // Latencies below this are all "fast": the p99 ratio compares
  // max(p99, floor), so microsecond noise is no loss.
  double p99_floor_seconds = 0.001;
};

struct RetrainOptions {
  std::string data_dir;
  std::string model_base;  // The shared model storage every replica follows.
  // Base settings of both trainings (candidate and refit).
  TrainerOptions trainer;
  MonthValidationLimits validation;
  // The candidate's realised MAP@k on the new month may fall below the
  // stable's and popularity's by at most these shares of theirs (monthly
  // MAP@7 on easyMoney is about 0.01, so margins are relative).
  double max_loss_vs_stable = 0.05;
  double max_loss_vs_popularity = 0.2;
  // Refuse a candidate whose backtest flags a fairness dimension the stable
  // did not flag (the gap is trainer.fairness_gap_threshold).
  bool block_new_fairness_flags = true;
  double canary_percent = 10;
  PromotionCriteria promotion;
  // Non-empty: a month or candidate the gates block is published all the
  // same, with this reason and what blocked it in the run record (the
  // audit trail of an override).
  std::string override_reason;
  int k = 7;
};

// What one step did.
struct RetrainResult {
  // nothing_new, published_first, published_canary, promoted, rolled_back,
  // waiting, blocked.
  std::string action;
  std::string reason;  // One sentence.
  int64_t version = 0;  // The version published, promoted or rolled back.
  // Members of the run record beside action and reason, as JSON text
  // ("\"validation\":{...},\"quality\":{...}"), possibly empty.
  std::string details_json;
  bool blocked() const { return action == "blocked"; }
};

// Reads the fleet's counters for the rollout of `canary` beside `stable`.
using FleetCounterSource = std::function<absl::StatusOr<FleetCounters>(int64_t stable, int64_t canary)>;

// One step of the retraining loop (docs/operations.md, "Monthly
// retraining"): decides on a pending canary; else, when the data has a month
// no version was trained on, validates it, measures the stable on it, trains
// a candidate on the months before and gates it against the stable and
// popularity on that month, then refits on all months, publishes the
// version and routes it as the canary (or as the first stable). Routing is
// MODEL_BASE/routing.json, written atomically; the stable is pinned there
// before the version is published, so no version policy makes it stable by
// itself. Safe to run again at any point: each step reads the state it acts
// on. Errors: reading the data or the model base, training, writing.
absl::StatusOr<RetrainResult> RunRetrainStep(const RetrainOptions& options, const FleetCounterSource& counters);

// The decision on a rollout from the fleet's counters: "promoted",
// "rolled_back" or "waiting", with the reason. Pure.
RetrainResult DecideCanary(const FleetCounters& counters, const PromotionCriteria& criteria);

// Appends `record` (one JSON object) to MODEL_BASE/retrain_log.jsonl and
// fsyncs it.
absl::Status AppendRunRecord(const std::string& model_base, const std::string& record);

}  // namespace easymoney

#endif  // EASYMONEY_CORE_TRAINING_RETRAINING_H_
