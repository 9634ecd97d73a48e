#ifndef EASYMONEY_CORE_MODEL_H_
#define EASYMONEY_CORE_MODEL_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include <vector>

#include "absl/strings/string_view.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "core/customer_features.h"
#include "core/scoring_kernel.h"
#include "core/svd.h"
#include "easymoney/model/v1/manifest.pb.h"

namespace easymoney {

// The arrays of a model version, in memory, exactly as the .npy files of
// docs/model-format.md hold them. The trainer fills one and hands it to
// WriteModelVersion; Model::Load reads one back.
struct ModelArrays {
  // Sorted ascending, unique: row i of every per-customer array belongs to
  // customer_ids[i]. A binary search finds a customer without a hash map.
  std::vector<int64_t> customer_ids;
  RowMajorMatrix customer_factors;   // customers x factors (U S).
  RowMajorMatrix product_factors;    // products x factors (V).
  Eigen::VectorXf singular_values;   // factors, descending.
  RowMajorMatrix cluster_centroids;  // clusters x features (standardised space).
  std::vector<int32_t> customer_clusters;  // customers.
  // Holdings at the training partition in CSR form: the products of customer
  // row i are holdings_indices[holdings_indptr[i] .. holdings_indptr[i+1]).
  std::vector<int64_t> holdings_indptr;   // customers + 1.
  std::vector<int32_t> holdings_indices;  // non-zeros, ascending within a row.
  // Ranks products for customers the model does not know (or who held
  // nothing at training time), higher first. The easyMoney trainer writes
  // the share of customers who acquired each product in the training month;
  // the interactions trainer the share of customers with an interaction.
  std::vector<float> product_popularity;  // products.
  // Optional (empty when the version has no such file): age per customer,
  // -1 when unknown, and flags per customer (bit 0: deceased). The product
  // rules use them for customers who send no profile.
  std::vector<int32_t> customer_ages;   // customers, or empty.
  std::vector<uint8_t> customer_flags;  // customers, or empty.
};

// An immutable, validated model version in memory.
//
//   auto model = Model::Load("models/3", 3);
//   if (!model.ok()) { /* refuse the version, keep serving the old one */ }
//   std::optional<int64_t> row = (*model)->FindCustomer(1375586);
//
// Invariants (checked by Load): every array's shape agrees with the manifest,
// no NaN/Inf anywhere, product ids unique, customer ids strictly ascending,
// cluster ids and holdings indices within range, every file's SHA-256 matches
// the manifest. Thread-safe: nothing mutates after Load, so any number of
// requests may read one Model concurrently; share it as
// std::shared_ptr<const Model>.
class Model {
 public:
  // Reads and validates the version in `version_dir`. `version` is the
  // directory's name as a number. Errors: NOT_FOUND when manifest.json is
  // missing (the version is not complete yet), INVALID_ARGUMENT or
  // DATA_LOSS naming the file and what is wrong otherwise.
  static absl::StatusOr<std::shared_ptr<const Model>> Load(const std::string& version_dir,
                                                           int64_t version);

  // Builds a model from arrays already in memory, with the same validation
  // as Load except checksums. Used by Load and by tests.
  static absl::StatusOr<std::shared_ptr<const Model>> FromArrays(
      int64_t version, easymoney::model::v1::ModelManifest manifest, ModelArrays arrays);

  int64_t version() const { return version_; }
  const easymoney::model::v1::ModelManifest& manifest() const { return manifest_; }
  const ModelArrays& arrays() const { return arrays_; }

  int num_products() const { return static_cast<int>(arrays_.product_factors.rows()); }
  int num_factors() const { return static_cast<int>(arrays_.product_factors.cols()); }
  int64_t num_customers() const { return static_cast<int64_t>(arrays_.customer_ids.size()); }
  const easymoney::model::v1::Product& product(int index) const {
    return manifest_.products(index);
  }

  // Catalogue index of a product id, or nullopt.
  std::optional<int32_t> FindProduct(absl::string_view product_id) const;
  // Row of a customer in the per-customer arrays, or nullopt. O(log N).
  std::optional<int64_t> FindCustomer(int64_t customer_id) const;

  std::span<const float> customer_factors(int64_t row) const {
    return {arrays_.customer_factors.row(row).data(),
            static_cast<size_t>(arrays_.customer_factors.cols())};
  }
  std::span<const int32_t> customer_holdings(int64_t row) const {
    return std::span<const int32_t>(arrays_.holdings_indices)
        .subspan(static_cast<size_t>(arrays_.holdings_indptr[row]),
                 static_cast<size_t>(arrays_.holdings_indptr[row + 1] -
                                     arrays_.holdings_indptr[row]));
  }
  int32_t customer_cluster(int64_t row) const { return arrays_.customer_clusters[row]; }
  // Age and deceased flag of a customer, when the version stores them.
  std::optional<int32_t> customer_age(int64_t row) const {
    if (arrays_.customer_ages.empty() || arrays_.customer_ages[row] < 0) return std::nullopt;
    return arrays_.customer_ages[row];
  }
  std::optional<bool> customer_deceased(int64_t row) const {
    if (arrays_.customer_flags.empty()) return std::nullopt;
    return (arrays_.customer_flags[row] & 1) != 0;
  }
  // Mean factor vector of each cluster's customers (cold start).
  std::span<const float> cluster_mean_factors(int32_t cluster) const {
    return {cluster_mean_factors_.row(cluster).data(), static_cast<size_t>(cluster_mean_factors_.cols())};
  }
  // The manifest's feature spec, for encoding cold-start profiles.
  const FeatureSpec& feature_spec() const { return feature_spec_; }
  // Minimum age for each product (-1: none), from the manifest's rules.
  int32_t minimum_age(int product) const { return minimum_age_[product]; }
  // Weight of the popularity prior in personalised scores (manifest
  // training.popularity_weight; see ScoreProducts).
  float popularity_weight() const { return static_cast<float>(manifest_.training().popularity_weight()); }
  // Product factors in the scoring kernel's panel layout, packed at load.
  const PackedFactors& packed_product_factors() const { return packed_product_factors_; }
  // popularity_weight() x product_popularity: the per-product term of a
  // personalised score, computed once.
  std::span<const float> score_bias() const { return score_bias_; }

 private:
  Model(int64_t version, easymoney::model::v1::ModelManifest manifest, ModelArrays arrays);

  const int64_t version_;
  const easymoney::model::v1::ModelManifest manifest_;
  const ModelArrays arrays_;
  const absl::flat_hash_map<std::string, int32_t> product_index_;
  const RowMajorMatrix cluster_mean_factors_;
  const std::vector<int32_t> minimum_age_;
  // Copied out of the manifest once, not per cold-start request.
  const FeatureSpec feature_spec_;
  const PackedFactors packed_product_factors_;
  const std::vector<float> score_bias_;
};

// The file names of a version directory.
inline constexpr char kManifestFile[] = "manifest.json";
inline constexpr char kCustomerIdsFile[] = "customer_ids.npy";
inline constexpr char kCustomerFactorsFile[] = "customer_factors.npy";
inline constexpr char kProductFactorsFile[] = "product_factors.npy";
inline constexpr char kSingularValuesFile[] = "singular_values.npy";
inline constexpr char kClusterCentroidsFile[] = "cluster_centroids.npy";
inline constexpr char kCustomerClustersFile[] = "customer_clusters.npy";
inline constexpr char kHoldingsIndptrFile[] = "holdings_indptr.npy";
inline constexpr char kHoldingsIndicesFile[] = "holdings_indices.npy";
inline constexpr char kProductPopularityFile[] = "product_popularity.npy";
// Optional files.
inline constexpr char kCustomerAgesFile[] = "customer_ages.npy";
inline constexpr char kCustomerFlagsFile[] = "customer_flags.npy";

// The format version this build reads and writes.
inline constexpr int kModelFormatVersion = 1;

}  // namespace easymoney

#endif  // EASYMONEY_CORE_MODEL_H_
