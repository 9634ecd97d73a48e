// recommender-train: easyMoney tables (or an interactions file) -> a new,
// evaluated model version; recommend-all: batch top-N for a version;
// compare: how customers moved between the clusters of two versions.

#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "core/training/batch_recommendations.h"
#include "core/training/cluster_migration.h"
#include "core/training/ease.h"
#include "core/training/interactions.h"
#include "core/model/model_directory.h"
#include "core/util/tool_flags.h"
#include "core/training/trainer.h"
#include "core/training/training_report.h"

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
ABSL_FLAG(std::string, feedback_log, "",
          "The server's event log directory (--event-log-dir): CONVERSION events of customers in the newest month "
          "are added to their holdings before the final fit.");
ABSL_FLAG(int, backtest_months, 3, "Months in the rolling backtest (0 skips evaluation).");
ABSL_FLAG(uint64_t, seed, 42, "Random seed (k-means seeding and sampling).");
ABSL_FLAG(std::string, report, "", "Also write a self-contained HTML report to DIR/report.html.");
ABSL_FLAG(int64_t, version, 0, "recommend-all: the version to use (0: the newest).");
ABSL_FLAG(std::string, out, "", "recommend-all: output CSV path.");
ABSL_FLAG(int, n, 7, "recommend-all: products per customer.");
ABSL_FLAG(std::string, interactions, "",
          "Train on a customer,product[,value] log (CSV with header, or MovieLens-style TSV) instead of --data.");
ABSL_FLAG(int64_t, from, 0, "compare: version A, the older one (or give A and B as arguments).");
ABSL_FLAG(int64_t, to, 0, "compare: version B, the newer one.");
ABSL_FLAG(bool, json, false, "compare: print one JSON object instead of tables.");
ABSL_FLAG(double, test_fraction, 0.25, "--interactions: share of each customer's interactions held out for test.");
ABSL_FLAG(std::string, evaluation_model_base, "",
          "--interactions: also write the chosen model fitted on the training part as a version under this "
          "directory, with the held-out and training parts beside it as test_interactions.csv and "
          "train_interactions.csv, for recommender-evaluate.");
ABSL_FLAG(std::vector<std::string>, factorisations, std::vector<std::string>({"puresvd", "ease", "blend"}),
          "The factorisations model selection chooses between on validation, comma-separated: puresvd, ease, "
          "blend (EASE + PureSVD, --interactions only). The easyMoney trainer always tries PureSVD and never "
          "the blend.");
ABSL_FLAG(int, max_factors, 0,
          "--interactions: candidates with more factors are not tried (0: no cap). A served answer costs "
          "factors x products multiply-adds, so this bounds serving latency.");
ABSL_FLAG(int, ease_max_products, easymoney::kEaseMaxProducts,
          "--interactions: largest catalogue EASE is tried on (its Gram matrix is dense products x products); "
          "above it only PureSVD is.");

namespace {

constexpr char kUsage[] =
    "Trains and evaluates a model version.\n"
    "Usage:\n"
    "  recommender-train --data DIR [--model-base MODELS] [--report DIR]\n"
    "      Reads the easyMoney tables (customer_products.csv,\n"
    "      customer_commercial_activity.csv, customer_sociodemographics.csv), reports\n"
    "      data quality, chooses PureSVD or EASE, rank and recency weight on a validation month\n"
    "      and k by silhouette, evaluates against popularity baselines in a rolling\n"
    "      backtest with per-group metrics, and writes MODELS/<next version>/ with the\n"
    "      evaluation in its manifest (docs/model-format.md, docs/training.md).\n"
    "  recommender-train --interactions FILE [--model-base MODELS] [--report DIR]\n"
    "                    [--k 10] [--test-fraction 0.25] [--seed 42] [--evaluation-model-base DIR]\n"
    "                    [--factorisations puresvd,ease,blend] [--max-factors N]\n"
    "      Trains on a customer,product[,value] log (CSV with a header, or MovieLens'\n"
    "      u.data): per-customer random test split, PureSVD, EASE and their blend chosen\n"
    "      between on validation splits carved out of the training part, test metrics beside\n"
    "      popularity, and MODELS/<next version>/ fitted on every interaction\n"
    "      (docs/evaluation-movielens.md).\n"
    "  recommender-train recommend-all --model-base MODELS [--version V] --out FILE [-n 7]\n"
    "      Writes the top-n products of every customer of a version to CSV.\n"
    "  recommender-train compare [A B | --from A --to B] [--model-base MODELS] [--json]\n"
    "      Compares the k-means clusters of versions A and B (default: the two\n"
    "      newest): customers in both, only in A, only in B; the crosstab of A's\n"
    "      clusters against B's; a one-to-one matching of the clusters (k-means\n"
    "      numbers them arbitrarily); the share of common customers reassigned to\n"
    "      another cluster; each A cluster's profile in raw units next to its\n"
    "      matched B cluster's (docs/training.md, \"Comparing two versions\").\n"
    "Progress goes to stderr, tables to stdout.";

// The report's "selection" summary line.
std::string SelectionOf(const easymoney::TrainingReport& report) {
  for (const auto& [key, value] : report.summary) {
    if (key == "selection") return value;
  }
  return "";
}

// --factorisations.
struct Factorisations {
  bool pure_svd = false;
  bool ease = false;
  bool blend = false;
};

absl::StatusOr<Factorisations> ParseFactorisations() {
  Factorisations wanted;
  for (const std::string& name : absl::GetFlag(FLAGS_factorisations)) {
    if (name == "puresvd") {
      wanted.pure_svd = true;
    } else if (name == "ease") {
      wanted.ease = true;
    } else if (name == "blend") {
      wanted.blend = true;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("--factorisations: unknown '", name, "', expected puresvd, ease or blend"));
    }
  }
  if (!wanted.pure_svd && !wanted.ease && !wanted.blend) {
    return absl::InvalidArgumentError("--factorisations: name at least one of puresvd, ease, blend");
  }
  return wanted;
}

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

// compare A B: versions from the arguments, --from/--to, or the two newest.
int Compare(const std::vector<std::string>& args) {
  const std::string model_base = absl::GetFlag(FLAGS_model_base);
  int64_t from = absl::GetFlag(FLAGS_from);
  int64_t to = absl::GetFlag(FLAGS_to);
  constexpr char kCompareUsage[] = "compare needs two version numbers, as arguments or as --from/--to (see --help)\n";
  if (args.size() == 3) {
    const std::optional<int64_t> a = easymoney::ParseVersionName(args[1]);
    const std::optional<int64_t> b = easymoney::ParseVersionName(args[2]);
    if (!a.has_value() || !b.has_value() || from != 0 || to != 0) {
      std::fputs(kCompareUsage, stderr);
      return 2;
    }
    from = *a;
    to = *b;
  } else if (args.size() != 1 || (from == 0) != (to == 0)) {
    std::fputs(kCompareUsage, stderr);
    return 2;
  } else if (from == 0) {
    auto versions = easymoney::ListModelVersions(model_base);
    if (!versions.ok()) return Fail(versions.status());
    if (versions->size() < 2) return Fail(absl::NotFoundError("fewer than two model versions under " + model_base));
    from = (*versions)[versions->size() - 2];
    to = versions->back();
  }
  auto before = easymoney::Model::Load((std::filesystem::path(model_base) / std::to_string(from)).string(), from);
  if (!before.ok()) return Fail(before.status());
  auto after = easymoney::Model::Load((std::filesystem::path(model_base) / std::to_string(to)).string(), to);
  if (!after.ok()) return Fail(after.status());
  auto migration = easymoney::CompareClusters(**before, **after);
  if (!migration.ok()) return Fail(migration.status());
  const std::string text = absl::GetFlag(FLAGS_json) ? easymoney::ClusterMigrationToJson(*migration)
                                                     : easymoney::FormatClusterMigration(*migration);
  std::fputs(text.c_str(), stdout);
  return 0;
}

int TrainEasyMoney() {
  easymoney::TrainerOptions options;
  options.data_dir = absl::GetFlag(FLAGS_data);
  options.feedback_log_dir = absl::GetFlag(FLAGS_feedback_log);
  options.model_base = absl::GetFlag(FLAGS_model_base);
  options.num_factors = absl::GetFlag(FLAGS_factors);
  options.recency_weight = absl::GetFlag(FLAGS_recency_weight);
  options.popularity_weight = absl::GetFlag(FLAGS_popularity_prior);
  options.num_clusters = absl::GetFlag(FLAGS_clusters);
  options.kmeans_restarts = absl::GetFlag(FLAGS_kmeans_restarts);
  options.k = absl::GetFlag(FLAGS_k);
  options.backtest_months = absl::GetFlag(FLAGS_backtest_months);
  options.seed = absl::GetFlag(FLAGS_seed);
  auto factorisations = ParseFactorisations();
  if (!factorisations.ok()) return Fail(factorisations.status());
  if (!factorisations->pure_svd) {
    return Fail(absl::InvalidArgumentError("--factorisations: the easyMoney trainer always tries puresvd"));
  }
  if (!factorisations->ease) options.ease_candidates.clear();
  if (absl::GetFlag(FLAGS_max_factors) != 0) {
    return Fail(absl::InvalidArgumentError(
        "--max-factors applies to --interactions only; the easyMoney trainer's rank is set with --factors"));
  }
  auto summary = easymoney::TrainEasyMoneyModel(options);
  if (!summary.ok()) return Fail(summary.status());
  if (!absl::GetFlag(FLAGS_feedback_log).empty()) {
    const auto& f = summary->feedback;
    std::printf("event log: %lld records (%lld corrupt lines skipped), %lld feedback events, %lld conversions: "
                "%lld added a holding, %lld already held, %lld for unknown customers or products\n",
                static_cast<long long>(f.records), static_cast<long long>(f.skipped_lines),
                static_cast<long long>(f.feedback_events), static_cast<long long>(f.conversions),
                static_cast<long long>(f.conversions_applied), static_cast<long long>(f.conversions_already_held),
                static_cast<long long>(f.conversions_unknown));
  }
  std::printf("data quality:\n");
  for (const std::string& line : summary->report.data_quality) std::printf("  %s\n", line.c_str());
  std::printf("%s%s", easymoney::FormatMetricsTable(summary->report).c_str(),
              easymoney::FormatFactorisations(summary->report).c_str());
  std::printf("model version %lld written to %s\n", static_cast<long long>(summary->version),
              summary->version_dir.c_str());
  std::printf("  partition %s, %lld customers, %d products, %d factors (recency weight %g), k-means k=%d\n",
              summary->partition.c_str(), static_cast<long long>(summary->num_customers), summary->num_products,
              summary->num_factors, summary->recency_weight, summary->num_clusters);
  if (summary->explained_variance >= 0) {
    std::printf("  the SVD explains %.1f%% of the holdings matrix's energy\n", 100.0 * summary->explained_variance);
  }
  std::printf("  selection: %s\n  k-means inertia %.1f\n",
              SelectionOf(summary->report).c_str(), summary->kmeans_inertia);
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
  if (!args.empty() && args[0] == "compare") return Compare(args);
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
    options.evaluation_model_base = absl::GetFlag(FLAGS_evaluation_model_base);
    options.ease_max_products = absl::GetFlag(FLAGS_ease_max_products);
    auto factorisations = ParseFactorisations();
    if (!factorisations.ok()) return Fail(factorisations.status());
    options.try_pure_svd = factorisations->pure_svd;
    options.try_ease = factorisations->ease;
    options.try_blend = factorisations->blend;
    options.max_factors = absl::GetFlag(FLAGS_max_factors);
    auto result = easymoney::TrainInteractionsModel(options);
    if (!result.ok()) return Fail(result.status());
    std::printf("%s%s", easymoney::FormatInteractionsReport(*result).c_str(),
                easymoney::FormatMetricsTable(result->report).c_str());
    if (const std::string report_dir = absl::GetFlag(FLAGS_report); !report_dir.empty()) {
      if (auto status = easymoney::WriteTrainingReport(report_dir, result->report); !status.ok()) return Fail(status);
      std::printf("report written to %s/report.html\n", report_dir.c_str());
    }
    return 0;
  }
  if (absl::GetFlag(FLAGS_data).empty()) {
    std::fprintf(stderr, "recommender-train: --data DIR is required (see --help)\n");
    return 2;
  }
  return TrainEasyMoney();
}
