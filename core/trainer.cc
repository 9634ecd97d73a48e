#include "core/trainer.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/easymoney_schema.h"
#include "core/kmeans.h"
#include "core/model.h"
#include "core/model_directory.h"
#include "core/svd.h"

namespace easymoney {

absl::StatusOr<TrainingSummary> TrainEasyMoneyModel(const TrainerOptions& options) {
  auto snapshot = ReadEasyMoneySnapshot(options.data_dir);
  if (!snapshot.ok()) return snapshot.status();
  const int64_t num_customers = static_cast<int64_t>(snapshot->customer_ids.size());
  const int num_products = static_cast<int>(kProducts.size());
  if (num_customers < options.num_clusters) {
    return absl::InvalidArgumentError(absl::StrCat("partition ", snapshot->partition, " has ", num_customers,
                                                   " customers, fewer than the ", options.num_clusters,
                                                   " clusters asked for"));
  }

  // Holdings matrix of the newest partition, CSR both in memory and on disk.
  ModelArrays arrays;
  arrays.customer_ids = snapshot->customer_ids;
  arrays.holdings_indptr.reserve(static_cast<size_t>(num_customers) + 1);
  arrays.holdings_indptr.push_back(0);
  std::vector<Eigen::Triplet<float, int64_t>> triplets;
  std::vector<double> holders(static_cast<size_t>(num_products), 0.0);
  for (int64_t row = 0; row < num_customers; ++row) {
    for (int p = 0; p < num_products; ++p) {
      if ((snapshot->holdings[row] >> p) & 1u) {
        arrays.holdings_indices.push_back(p);
        triplets.emplace_back(row, p, 1.0f);
        holders[p] += 1;
      }
    }
    arrays.holdings_indptr.push_back(static_cast<int64_t>(arrays.holdings_indices.size()));
  }
  HoldingsMatrix holdings(num_customers, num_products);
  holdings.setFromTriplets(triplets.begin(), triplets.end());
  triplets.clear();
  triplets.shrink_to_fit();

  auto svd = ComputeTruncatedSvd(holdings, options.num_factors);
  if (!svd.ok()) return svd.status();
  const double total_energy = static_cast<double>(holdings.squaredNorm());
  const double kept_energy = static_cast<double>(svd->singular_values.squaredNorm());
  arrays.customer_factors = std::move(svd->customer_factors);
  arrays.product_factors = std::move(svd->product_factors);
  arrays.singular_values = std::move(svd->singular_values);
  for (double count : holders) {
    arrays.product_popularity.push_back(static_cast<float>(count / static_cast<double>(num_customers)));
  }

  std::fprintf(stderr, "k-means: %lld customers, k=%d, %d restarts\n",
               static_cast<long long>(num_customers), options.num_clusters, options.kmeans_restarts);
  const FeatureSpec spec = FitFeatureSpec(snapshot->profiles);
  const RowMajorMatrix features = EncodeProfiles(spec, snapshot->profiles);
  KMeansOptions kmeans_options;
  kmeans_options.num_clusters = options.num_clusters;
  kmeans_options.restarts = options.kmeans_restarts;
  kmeans_options.seed = options.seed;
  auto clusters = RunKMeans(features, kmeans_options);
  if (!clusters.ok()) return clusters.status();
  arrays.cluster_centroids = std::move(clusters->centroids);
  arrays.customer_clusters = std::move(clusters->assignments);

  easymoney::model::v1::ModelManifest manifest;
  manifest.set_format_version(kModelFormatVersion);
  manifest.set_created_at(absl::FormatTime(absl::RFC3339_sec, absl::Now(), absl::UTCTimeZone()));
  manifest.set_num_customers(static_cast<int32_t>(num_customers));
  manifest.set_num_products(num_products);
  manifest.set_num_factors(options.num_factors);
  manifest.set_num_clusters(options.num_clusters);
  manifest.set_num_features(static_cast<int32_t>(spec.size()));
  for (const ProductInfo& info : kProducts) {
    auto* product = manifest.add_products();
    product->set_id(std::string(info.id));
    product->set_name(std::string(info.name));
    product->set_family(std::string(info.family));
  }
  for (const auto& feature : spec) *manifest.add_features() = feature;
  auto* training = manifest.mutable_training();
  training->set_num_factors(options.num_factors);
  training->set_num_clusters(options.num_clusters);
  training->set_seed(static_cast<uint32_t>(options.seed));
  training->set_partition(snapshot->partition);
  training->set_data_source(std::filesystem::absolute(options.data_dir).string());
  training->set_kmeans_restarts(options.kmeans_restarts);
  training->set_kmeans_inertia(clusters->inertia);

  // Refuse to publish something the server would refuse.
  if (auto check = Model::FromArrays(1, manifest, arrays); !check.ok()) {
    return absl::InternalError(absl::StrCat("trained model failed validation: ", check.status().message()));
  }
  auto version = WriteModelVersion(options.model_base, manifest, arrays);
  if (!version.ok()) return version.status();

  TrainingSummary summary;
  summary.version = *version;
  summary.version_dir = (std::filesystem::path(options.model_base) / std::to_string(*version)).string();
  summary.partition = snapshot->partition;
  summary.num_customers = num_customers;
  summary.num_products = num_products;
  summary.explained_variance = total_energy > 0 ? kept_energy / total_energy : 0;
  summary.kmeans_inertia = clusters->inertia;
  summary.quality = snapshot->quality;
  return summary;
}

}  // namespace easymoney
