// recommender-train: easyMoney tables (or an interactions file) -> a new,
// evaluated model version; recommend-all: batch top-N for a version.

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "core/batch_recommendations.h"
#include "core/interactions.h"
#include "core/model_directory.h"
#include "core/tool_flags.h"
#include "core/trainer.h"
#include "core/training_report.h"

ABSL_FLAG(std::string, data, "", "Directory holding the three easyMoney CSV tables.");
ABSL_FLAG(std::string, model_base, "models", "Model base directory; the new version is written to MODEL_BASE/<next>/.");
ABSL_FLAG(int, factors, 0, "SVD rank; 0 chooses it on the validation month.");
ABSL_FLAG(double, recency_weight, 0,
          "Weight of holdings acquired in the training month (1 = unweighted); 0 chooses it on the validation month.");
ABSL_FLAG(double, popularity_prior, -1,
          "Weight of the popularity prior in personalised scores, relative to the most popular product "
          "(0 = plain PureSVD); negative chooses it on the validation month.");
ABSL_FLAG(int, clusters, 0, "Number of k-means customer clusters; 0 chooses k by silhouette.");
ABSL_FLAG(int, kmeans_restarts, 3, "k-means++ restarts; the lowest-inertia run wins.");
ABSL_FLAG(int, k, 7, "Cut-off of the ranking metrics (MAP@k, precision@k, ...).");
ABSL_FLAG(int, backtest_months, 3, "Months in the rolling backtest (0 skips evaluation).");
ABSL_FLAG(uint64_t, seed, 42, "Random seed (k-means seeding and sampling).");
ABSL_FLAG(std::string, report, "", "Also write a self-contained HTML report to DIR/report.html.");
ABSL_FLAG(int64_t, version, 0, "recommend-all: the version to use (0: the newest).");
ABSL_FLAG(std::string, out, "", "recommend-all: output CSV path.");
ABSL_FLAG(int, n, 7, "recommend-all: products per customer.");
ABSL_FLAG(std::string, interactions, "",
          "Train on a customer,product[,value] log (CSV with header, or MovieLens-style TSV) instead of --data.");
ABSL_FLAG(double, test_fraction, 0.25, "--interactions: share of each customer's interactions held out for test.");

namespace {

constexpr char kUsage[] =
    "Trains and evaluates a model version.\n"
    "Usage:\n"
    "  recommender-train --data DIR [--model-base MODELS] [--report DIR]\n"
    "      Reads the easyMoney tables (customer_products.csv,\n"
    "      customer_commercial_activity.csv, customer_sociodemographics.csv), reports\n"
    "      data quality, chooses the SVD rank and recency weight on a validation month\n"
    "      and k by silhouette, evaluates against popularity baselines in a rolling\n"
    "      backtest with per-group metrics, and writes MODELS/<next version>/ with the\n"
    "      evaluation in its manifest (docs/model-format.md, docs/training.md).\n"
    "  recommender-train recommend-all --model-base MODELS [--version V] --out FILE [-n 7]\n"
    "      Writes the top-n products of every customer of a version to CSV.\n"
    "Progress goes to stderr, tables to stdout.";

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "recommender-train: %s\n", std::string(status.message()).c_str());
  return 1;
}

int RecommendAll() {
  const std::string model_base = absl::GetFlag(FLAGS_model_base);
  const std::string out = absl::GetFlag(FLAGS_out);
  if (out.empty()) {
    std::fprintf(stderr, "recommend-all needs --out FILE (see --help)\n");
    return 2;
  }
  int64_t version = absl::GetFlag(FLAGS_version);
  if (version == 0) {
    auto versions = easymoney::ListModelVersions(model_base);
    if (!versions.ok()) return Fail(versions.status());
    if (versions->empty()) return Fail(absl::NotFoundError("no model version under " + model_base));
    version = versions->back();
  }
  auto model = easymoney::Model::Load((std::filesystem::path(model_base) / std::to_string(version)).string(), version);
  if (!model.ok()) return Fail(model.status());
  auto rows = easymoney::WriteBatchRecommendations(**model, absl::GetFlag(FLAGS_n), out);
  if (!rows.ok()) return Fail(rows.status());
  std::printf("wrote %lld recommendations for %lld customers of version %lld to %s\n",
              static_cast<long long>(*rows), static_cast<long long>((*model)->num_customers()),
              static_cast<long long>(version), out.c_str());
  return 0;
}

int TrainEasyMoney() {
  easymoney::TrainerOptions options;
  options.data_dir = absl::GetFlag(FLAGS_data);
  options.model_base = absl::GetFlag(FLAGS_model_base);
  options.num_factors = absl::GetFlag(FLAGS_factors);
  options.recency_weight = absl::GetFlag(FLAGS_recency_weight);
  options.popularity_weight = absl::GetFlag(FLAGS_popularity_prior);
  options.num_clusters = absl::GetFlag(FLAGS_clusters);
  options.kmeans_restarts = absl::GetFlag(FLAGS_kmeans_restarts);
  options.k = absl::GetFlag(FLAGS_k);
  options.backtest_months = absl::GetFlag(FLAGS_backtest_months);
  options.seed = absl::GetFlag(FLAGS_seed);
  auto summary = easymoney::TrainEasyMoneyModel(options);
  if (!summary.ok()) return Fail(summary.status());
  std::printf("data quality:\n");
  for (const std::string& line : summary->report.data_quality) std::printf("  %s\n", line.c_str());
  std::printf("%s", easymoney::FormatMetricsTable(summary->report).c_str());
  std::printf("model version %lld written to %s\n", static_cast<long long>(summary->version),
              summary->version_dir.c_str());
  std::printf("  partition %s, %lld customers, %d products, SVD rank %d (recency weight %g), k-means k=%d\n",
              summary->partition.c_str(), static_cast<long long>(summary->num_customers), summary->num_products,
              summary->num_factors, summary->recency_weight, summary->num_clusters);
  std::printf("  SVD explains %.1f%% of the holdings matrix's energy; k-means inertia %.1f\n",
              100.0 * summary->explained_variance, summary->kmeans_inertia);
  const std::string report_dir = absl::GetFlag(FLAGS_report);
  if (!report_dir.empty()) {
    if (auto status = easymoney::WriteTrainingReport(report_dir, summary->report); !status.ok()) return Fail(status);
    std::printf("report written to %s/report.html\n", report_dir.c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args = easymoney::ParseToolFlags(argc, argv, kUsage);
  if (!args.empty() && args[0] == "recommend-all") return RecommendAll();
  if (!args.empty()) {
    std::fprintf(stderr, "unknown command '%s' (see --help)\n", args[0].c_str());
    return 2;
  }
  if (const std::string path = absl::GetFlag(FLAGS_interactions); !path.empty()) {
    easymoney::InteractionsTrainerOptions options;
    options.interactions_path = path;
    options.model_base = absl::GetFlag(FLAGS_model_base);
    options.k = absl::GetFlag(FLAGS_k);
    options.test_fraction = absl::GetFlag(FLAGS_test_fraction);
    options.seed = absl::GetFlag(FLAGS_seed);
    auto result = easymoney::TrainInteractionsModel(options);
    if (!result.ok()) return Fail(result.status());
    std::printf("%s%s", easymoney::FormatInteractionsReport(*result).c_str(),
                easymoney::FormatMetricsTable(result->report).c_str());
    return 0;
  }
  if (absl::GetFlag(FLAGS_data).empty()) {
    std::fprintf(stderr, "recommender-train: --data DIR is required (see --help)\n");
    return 2;
  }
  return TrainEasyMoney();
}
