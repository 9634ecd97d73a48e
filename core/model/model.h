#ifndef EASYMONEY_CORE_MODEL_MODEL_H_
#define EASYMONEY_CORE_MODEL_MODEL_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/status/statusor.h"
#include "core/model/customer_features.h"
#include "core/model/mapped_file.h"
#include "core/model/scoring_kernel.h"
#include "core/model/sorted_id_index.h"
#include "core/model/matrix.h"
#include "easymoney/model/v1/manifest.pb.h"

namespace easymoney {

// The arrays of a model version, in memory, exactly as the .npy files of
// docs/model-format.md hold them. The trainer fills one and hands it to
// WriteModelVersion; Model::Load reads one back.
struct ModelArrays {
  // Sorted ascending, unique: row i of every per-customer array belongs to
  // customer_ids[i]. A SortedIdIndex over it finds a customer without a
  // hash map.
  std::vector<int64_t> customer_ids;
  RowMajorMatrix customer_factors;   // customers x factors (U S).
  RowMajorMatrix product_factors;    // products x factors (V).
  Eigen::VectorXf singular_values;   // factors; importance, not read to score (model-format.md).
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

// Read-only views of a version's per-customer arrays, wherever they live:
// in a ModelArrays (FromArrays, or Load with mapping off) or in the version's
// files mapped into memory (Load's default).
struct CustomerArraysView {
  std::span<const int64_t> ids;
  // customers x factors, row-major. Rows and columns come from the array
  // itself (its .npy header), so validation can name a wrong shape.
  const float* factors = nullptr;
  int64_t factor_rows = 0;
  int64_t factor_cols = 0;
  std::span<const int32_t> clusters;
  std::span<const int64_t> holdings_indptr;
  std::span<const int32_t> holdings_indices;
  std::span<const int32_t> ages;   // Empty when the version has none.
  std::span<const uint8_t> flags;  // Empty when the version has none.
};

struct ModelLoadOptions {
  // Map the per-customer arrays (customer_ids, customer_factors,
  // customer_clusters, holdings, ages, flags: all but a few kB of a large
  // version) from their files instead of copying them into fresh memory.
  // The page cache already holds the files of a version just published, so
  // a 10M-customer version then loads in about the time it takes to hash
  // it, however often versions are swapped; a copy needs 1.3 GB of new
  // memory per load, which on a VM whose host reclaims freed pages is
  // faulted in again every time (docs/performance.md). But a mapped file
  // truncated or overwritten in place (cp or rsync --inplace over it, a full
  // disk) is SIGBUS at the next read of the pages it lost, so mapping is
  // only for files nothing changes in place; copied (the default), the
  // version in memory is safe from whatever happens to its files.
  bool map_customer_arrays = false;
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
  static absl::StatusOr<std::shared_ptr<const Model>> Load(const std::string& version_dir, int64_t version,
                                                           const ModelLoadOptions& options = {});

  // Builds a model from arrays already in memory, with the same validation
  // as Load except checksums. Used by Load and by tests.
  static absl::StatusOr<std::shared_ptr<const Model>> FromArrays(
      int64_t version, easymoney::model::v1::ModelManifest manifest, ModelArrays arrays);

  int64_t version() const { return version_; }
  const easymoney::model::v1::ModelManifest& manifest() const { return manifest_; }

  int num_products() const { return static_cast<int>(arrays_.product_factors.rows()); }
  int num_factors() const { return static_cast<int>(arrays_.product_factors.cols()); }
  int64_t num_customers() const { return static_cast<int64_t>(customers_.ids.size()); }
  const easymoney::model::v1::Product& product(int index) const {
    return manifest_.products(index);
  }
  // Bytes of per-customer arrays served from mapped files (0 when they were
  // copied into memory).
  size_t mapped_bytes() const { return mapped_bytes_; }

  // Catalogue index of a product id, or nullopt.
  std::optional<int32_t> FindProduct(absl::string_view product_id) const;
  // Row of a customer in the per-customer arrays, or nullopt. O(log N).
  std::optional<int64_t> FindCustomer(int64_t customer_id) const;

  // The arrays of docs/model-format.md. Per customer:
  std::span<const int64_t> customer_ids() const { return customers_.ids; }
  std::span<const int32_t> customer_clusters() const { return customers_.clusters; }
  Eigen::Map<const RowMajorMatrix> customer_factor_matrix() const {
    return {customers_.factors, customers_.factor_rows, customers_.factor_cols};
  }
  std::span<const float> customer_factors(int64_t row) const {
    const auto cols = static_cast<size_t>(customers_.factor_cols);
    return {customers_.factors + static_cast<size_t>(row) * cols, cols};
  }
  std::span<const int32_t> customer_holdings(int64_t row) const {
    return customers_.holdings_indices.subspan(
        static_cast<size_t>(customers_.holdings_indptr[row]),
        static_cast<size_t>(customers_.holdings_indptr[row + 1] - customers_.holdings_indptr[row]));
  }
  int32_t customer_cluster(int64_t row) const { return customers_.clusters[row]; }
  // Age and deceased flag of a customer, when the version stores them.
  std::optional<int32_t> customer_age(int64_t row) const {
    if (customers_.ages.empty() || customers_.ages[row] < 0) return std::nullopt;
    return customers_.ages[row];
  }
  std::optional<bool> customer_deceased(int64_t row) const {
    if (customers_.flags.empty()) return std::nullopt;
    return (customers_.flags[row] & 1) != 0;
  }
  // Per product, per factor and per cluster:
  const RowMajorMatrix& product_factors() const { return arrays_.product_factors; }
  std::span<const float> product_popularity() const { return arrays_.product_popularity; }
  const Eigen::VectorXf& singular_values() const { return arrays_.singular_values; }
  const RowMajorMatrix& cluster_centroids() const { return arrays_.cluster_centroids; }

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
  // Validates the arrays (the per-customer ones through `view`) and builds
  // the model, which takes the mappings in `mapped` (may be null) only when
  // it is built. Shared by Load and FromArrays.
  static absl::StatusOr<std::shared_ptr<const Model>> Validated(int64_t version,
                                                                easymoney::model::v1::ModelManifest manifest,
                                                                ModelArrays arrays, std::vector<MappedFile>* mapped,
                                                                const CustomerArraysView& view);
  // `mapped` holds the files `mapped_view` points into; when it is empty the
  // per-customer arrays are the ones in `arrays`.
  Model(int64_t version, easymoney::model::v1::ModelManifest manifest, ModelArrays arrays,
        std::vector<MappedFile> mapped, const CustomerArraysView& mapped_view);

  const int64_t version_;
  const easymoney::model::v1::ModelManifest manifest_;
  // Owns every array that is not mapped (all of them after FromArrays).
  const ModelArrays arrays_;
  const std::vector<MappedFile> mapped_files_;
  const size_t mapped_bytes_;
  // Points into arrays_ or mapped_files_; declared after both.
  const CustomerArraysView customers_;
  const SortedIdIndex customer_index_;  // Over customers_.ids.
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

#endif  // EASYMONEY_CORE_MODEL_MODEL_H_
