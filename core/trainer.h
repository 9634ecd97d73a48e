#ifndef EASYMONEY_CORE_TRAINER_H_
#define EASYMONEY_CORE_TRAINER_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "core/easymoney_dataset.h"

namespace easymoney {

struct TrainerOptions {
  std::string data_dir;    // Holds the three easyMoney CSV tables.
  std::string model_base;  // The new version goes to model_base/<next>/.
  int num_factors = 6;     // SVD rank.
  int num_clusters = 8;    // k-means k.
  int kmeans_restarts = 4;
  uint64_t seed = 42;
};

struct TrainingSummary {
  int64_t version = 0;
  std::string version_dir;
  std::string partition;
  int64_t num_customers = 0;
  int num_products = 0;
  // Share of ||R||_F^2 that the kept singular values explain.
  double explained_variance = 0;
  double kmeans_inertia = 0;
  DataQualityReport quality;
};

// Reads the easyMoney tables, fits the truncated SVD of the newest
// partition's customers x products holdings matrix and k-means over the
// standardised customer features, and writes a new model version.
// Thread-compatible. Errors from reading the data or writing the version are
// passed through unchanged (they already name file and field).
absl::StatusOr<TrainingSummary> TrainEasyMoneyModel(const TrainerOptions& options);

}  // namespace easymoney

#endif  // EASYMONEY_CORE_TRAINER_H_
