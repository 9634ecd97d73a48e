// recommender-train: easyMoney tables -> a new model version.

#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "core/tool_flags.h"
#include "core/trainer.h"

ABSL_FLAG(std::string, data, "", "Directory holding the three easyMoney CSV tables (required).");
ABSL_FLAG(std::string, model_base, "models", "Model base directory; the new version is written to MODEL_BASE/<next>/.");
ABSL_FLAG(int, factors, 6, "SVD rank (number of latent factors).");
ABSL_FLAG(int, clusters, 8, "Number of k-means customer clusters.");
ABSL_FLAG(int, kmeans_restarts, 4, "k-means++ restarts; the lowest-inertia run wins.");
ABSL_FLAG(uint64_t, seed, 42, "Random seed (k-means seeding).");

int main(int argc, char** argv) {
  easymoney::ParseToolFlags(argc, argv,
      "Trains a model version from easyMoney tables.\n"
      "Usage: recommender-train --data DIR [--model-base MODELS] [--factors 6] [--clusters 8]\n"
      "Reads customer_products.csv, customer_commercial_activity.csv and\n"
      "customer_sociodemographics.csv, fits a truncated SVD of the newest partition's\n"
      "holdings and k-means over standardised customer features, and writes\n"
      "MODELS/<version>/ (see docs/model-format.md). Progress goes to stderr, the\n"
      "summary to stdout.");
  easymoney::TrainerOptions options;
  options.data_dir = absl::GetFlag(FLAGS_data);
  options.model_base = absl::GetFlag(FLAGS_model_base);
  options.num_factors = absl::GetFlag(FLAGS_factors);
  options.num_clusters = absl::GetFlag(FLAGS_clusters);
  options.kmeans_restarts = absl::GetFlag(FLAGS_kmeans_restarts);
  options.seed = absl::GetFlag(FLAGS_seed);
  if (options.data_dir.empty()) {
    std::fprintf(stderr, "recommender-train: --data is required (see --help)\n");
    return 2;
  }
  auto summary = easymoney::TrainEasyMoneyModel(options);
  if (!summary.ok()) {
    std::fprintf(stderr, "recommender-train: %s\n", std::string(summary.status().message()).c_str());
    return 1;
  }
  std::fprintf(stderr, "%s", summary->quality.ToString().c_str());
  std::printf("model version %lld written to %s\n", static_cast<long long>(summary->version),
              summary->version_dir.c_str());
  std::printf("  partition %s, %lld customers, %d products\n", summary->partition.c_str(),
              static_cast<long long>(summary->num_customers), summary->num_products);
  std::printf("  SVD rank %d explains %.1f%% of the holdings matrix's energy\n", options.num_factors,
              100.0 * summary->explained_variance);
  std::printf("  k-means k=%d inertia %.1f\n", options.num_clusters, summary->kmeans_inertia);
  return 0;
}
