#ifndef EASYMONEY_CORE_TRAINING_TRAINER_H_
#define EASYMONEY_CORE_TRAINING_TRAINER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/training/easymoney_dataset.h"
#include "core/training/training_report.h"

namespace easymoney {

struct TrainerOptions {
  std::string data_dir;    // Holds the three easyMoney CSV tables.
  std::string model_base;  // The new version goes to model_base/<next>/.
  // SVD rank; 0 chooses it (and PureSVD or EASE) on the validation month
  // from rank_candidates; a fixed rank means PureSVD.
  int num_factors = 0;
  std::vector<int> rank_candidates = {1, 2, 3, 4, 5, 6, 8, 10, 12};
  // Weight of holdings acquired in the training month relative to older
  // holdings; 0 chooses it on the validation month from these candidates.
  double recency_weight = 0;
  std::vector<double> recency_candidates = {1, 3};
  // Weight of the popularity prior in personalised scores, relative to the
  // most popular product (see ScoreProducts); negative chooses it on the
  // validation month from these candidates (0 = plain PureSVD).
  double popularity_weight = -1;
  std::vector<double> popularity_candidates = {0, 0.1, 0.3, 1, 3};
  // EASE (core/training/ease.h, the whole catalogue) is tried on the
  // validation month beside PureSVD with these relative regularisations,
  // for every recency weight and popularity prior; empty: PureSVD only, as
  // when num_factors fixes the rank.
  std::vector<double> ease_candidates = {0.5, 2, 8};
  // k-means k; 0 chooses it by silhouette from cluster_candidates.
  int num_clusters = 0;
  std::vector<int> cluster_candidates = {2, 3, 4, 5, 6, 7, 8, 9, 10};
  int kmeans_restarts = 3;
  // Centroids are fitted on a sample of at most this many customers.
  int64_t kmeans_max_fit_points = 50000;
  uint64_t seed = 42;
  // Cut-off of the ranking metrics (easyMoney's MAP@7).
  int k = 7;
  // Rolling backtest: train on month T, test the acquisitions of T+1, for
  // this many consecutive T ending one month before the newest; the month
  // before those validates the rank and weighting.
  int backtest_months = 3;
  // A group whose metric differs from the best group's by more than this
  // fraction of the overall value is flagged.
  double fairness_gap_threshold = 0.5;
  // The server's event log (--event-log-dir): CONVERSION events of customers
  // in the newest month become holdings of the final fit ("continuous
  // improvement"); empty: not read.
  std::string feedback_log_dir;
  // Train as if the data ended at this partition (an index into
  // kPartitions; the retraining gate trains on the months before the new
  // one); -1: the newest partition in the data.
  int last_partition = -1;
};

// What the trainer took from the event log.
struct FeedbackUse {
  int64_t records = 0;            // Intact records read.
  int64_t skipped_lines = 0;      // Torn or corrupt lines.
  int64_t feedback_events = 0;    // Impressions, clicks and conversions.
  int64_t conversions = 0;
  int64_t conversions_applied = 0;        // Added a holding.
  int64_t conversions_already_held = 0;   // The tables already had it.
  int64_t conversions_unknown = 0;        // Customer or product not in the data.
};

struct TrainingSummary {
  int64_t version = 0;
  std::string version_dir;
  std::string partition;
  int64_t num_customers = 0;
  int num_products = 0;
  int num_factors = 0;
  int num_clusters = 0;
  double recency_weight = 1;
  // Share of ||R||_F^2 that the kept singular values explain (PureSVD);
  // -1 for EASE, whose factors are not a projection of R.
  double explained_variance = 0;
  double kmeans_inertia = 0;
  FeedbackUse feedback;
  TrainingReport report;
};

// Reads the easyMoney tables, chooses the factorisation (PureSVD or EASE),
// the SVD rank and recency weighting on
// a validation month and k by silhouette, evaluates the model against
// popularity baselines in a rolling backtest (with per-group metrics), then
// fits the truncated SVD of the newest partition's holdings and k-means
// over the standardised customer features and writes a new model version
// whose manifest records all of it. Thread-compatible. Errors from reading
// the data or writing the version pass through unchanged (they name file
// and field).
absl::StatusOr<TrainingSummary> TrainEasyMoneyModel(const TrainerOptions& options);
// The same on tables already read (options.data_dir is not read).
absl::StatusOr<TrainingSummary> TrainEasyMoneyModel(const EasyMoneyTables& tables, const TrainerOptions& options);

}  // namespace easymoney

#endif  // EASYMONEY_CORE_TRAINING_TRAINER_H_
