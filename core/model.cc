#include "absl/strings/string_view.h"
#include "core/model.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <filesystem>

#include "absl/functional/function_ref.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "core/manifest_json.h"
#include "core/npy.h"
#include "core/sha256.h"

namespace easymoney {
namespace {

using easymoney::model::v1::ModelManifest;

absl::flat_hash_map<std::string, int32_t> IndexProducts(const ModelManifest& manifest) {
  absl::flat_hash_map<std::string, int32_t> index;
  for (int i = 0; i < manifest.products_size(); ++i) index.emplace(manifest.products(i).id(), i);
  return index;
}

absl::Status ShapeError(absl::string_view file, absl::string_view expected, absl::string_view got) {
  return absl::InvalidArgumentError(
      absl::StrCat(file, ": shape ", got, " does not match the manifest, expected ", expected));
}

std::string ShapeText(int64_t rows, int64_t cols) { return absl::StrCat("(", rows, ", ", cols, ")"); }
std::string ShapeText(int64_t rows) { return absl::StrCat("(", rows, ",)"); }

// True when every value is finite. Tests the exponent bits with a branchless
// OR over the raw data (vectorised), several times faster than
// Eigen's allFinite() on the 320M values of a 10M-customer version.
bool AllFinite(const float* values, size_t size) {
  uint32_t any_special = 0;
  for (size_t i = 0; i < size; ++i) {
    const uint32_t bits = std::bit_cast<uint32_t>(values[i]);
    any_special |= static_cast<uint32_t>((bits & 0x7f800000u) == 0x7f800000u);
  }
  return any_special == 0;
}

absl::Status CheckMatrix(absl::string_view file, const RowMajorMatrix& matrix, int64_t rows,
                         int64_t cols) {
  if (matrix.rows() != rows || matrix.cols() != cols) {
    return ShapeError(file, ShapeText(rows, cols), ShapeText(matrix.rows(), matrix.cols()));
  }
  if (!AllFinite(matrix.data(), static_cast<size_t>(matrix.size()))) return absl::InvalidArgumentError(absl::StrCat(file, ": contains NaN or Inf"));
  return absl::OkStatus();
}

template <typename T>
absl::Status CheckVectorSize(absl::string_view file, const std::vector<T>& values, int64_t size) {
  if (static_cast<int64_t>(values.size()) != size) {
    return ShapeError(file, ShapeText(size), ShapeText(static_cast<int64_t>(values.size())));
  }
  return absl::OkStatus();
}

absl::Status ValidateManifest(const ModelManifest& manifest) {
  if (manifest.format_version() != kModelFormatVersion) {
    return absl::InvalidArgumentError(absl::StrCat("manifest.json: format_version ",
                                                   manifest.format_version(), " is not supported (this build reads ",
                                                   kModelFormatVersion, ")"));
  }
  if (manifest.products_size() == 0) {
    return absl::InvalidArgumentError("manifest.json: the product catalogue is empty");
  }
  if (manifest.num_products() != manifest.products_size()) {
    return absl::InvalidArgumentError(absl::StrCat("manifest.json: num_products is ", manifest.num_products(),
                                                   " but products lists ", manifest.products_size()));
  }
  absl::flat_hash_map<std::string, int> seen;
  for (int i = 0; i < manifest.products_size(); ++i) {
    const std::string& id = manifest.products(i).id();
    if (id.empty()) return absl::InvalidArgumentError(absl::StrCat("manifest.json: products[", i, "].id is empty"));
    if (auto [it, inserted] = seen.emplace(id, i); !inserted) {
      return absl::InvalidArgumentError(absl::StrCat("manifest.json: product id '", absl::CHexEscape(id),
                                                     "' appears twice (products[",
                                                     it->second, "] and products[", i, "])"));
    }
  }
  for (int i = 0; i < manifest.features_size(); ++i) {
    const auto& feature = manifest.features(i);
    if (feature.kind() != "numeric" && feature.kind() != "one_hot") {
      return absl::InvalidArgumentError(absl::StrCat("manifest.json: features[", i, "].kind is '",
                                                     absl::CHexEscape(feature.kind()),
                                                     "', expected 'numeric' or 'one_hot'"));
    }
    if (!std::isfinite(feature.mean()) || !std::isfinite(feature.stddev()) || feature.stddev() <= 0 ||
        !std::isfinite(feature.impute_value())) {
      return absl::InvalidArgumentError(absl::StrCat("manifest.json: features[", i, "] (",
                                                     absl::CHexEscape(feature.name()),
                                                     ") needs a finite mean and impute_value and a positive stddev"));
    }
  }
  for (int i = 0; i < manifest.rules().minimum_age_size(); ++i) {
    const auto& rule = manifest.rules().minimum_age(i);
    if (!seen.contains(rule.product_id()) || rule.age() < 0 || rule.age() > 130) {
      return absl::InvalidArgumentError(absl::StrCat("manifest.json: rules.minimum_age[", i, "] names product '",
                                                     absl::CHexEscape(rule.product_id()), "' and age ", rule.age(),
                                                     "; the product must be in the catalogue and the age in 0..130"));
    }
  }
  // Drift monitoring bins cold-start profiles with these: a histogram that
  // does not have one share per bin would index past its counters.
  for (int i = 0; i < manifest.feature_distributions_size(); ++i) {
    const auto& distribution = manifest.feature_distributions(i);
    bool valid = distribution.shares_size() == distribution.upper_bounds_size() + 1;
    for (int b = 0; b < distribution.upper_bounds_size(); ++b) {
      valid = valid && std::isfinite(distribution.upper_bounds(b)) &&
              (b == 0 || distribution.upper_bounds(b) > distribution.upper_bounds(b - 1));
    }
    for (double share : distribution.shares()) valid = valid && std::isfinite(share) && share >= 0;
    if (!valid) {
      return absl::InvalidArgumentError(absl::StrCat(
          "manifest.json: feature_distributions[", i, "] (", absl::CHexEscape(distribution.feature()),
          ") needs ascending finite upper_bounds and one share more than bounds (has ",
          distribution.upper_bounds_size(), " bounds and ", distribution.shares_size(), " shares)"));
    }
  }
  if (!std::isfinite(manifest.training().popularity_weight()) || manifest.training().popularity_weight() < 0) {
    return absl::InvalidArgumentError(absl::StrCat("manifest.json: training.popularity_weight ",
                                                   manifest.training().popularity_weight(),
                                                   " must be finite and not negative"));
  }
  if (manifest.num_features() != manifest.features_size()) {
    return absl::InvalidArgumentError(absl::StrCat("manifest.json: num_features is ", manifest.num_features(),
                                                   " but features lists ", manifest.features_size()));
  }
  if (manifest.num_factors() < 1 || manifest.num_clusters() < 1 || manifest.num_customers() < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "manifest.json: num_factors (", manifest.num_factors(), ") and num_clusters (", manifest.num_clusters(),
        ") must be positive, num_customers (", manifest.num_customers(), ") not negative"));
  }
  return absl::OkStatus();
}

absl::Status ValidateArrays(const ModelManifest& manifest, const ModelArrays& arrays) {
  const int64_t customers = manifest.num_customers();
  const int64_t products = manifest.num_products();
  const int64_t factors = manifest.num_factors();
  const int64_t clusters = manifest.num_clusters();
  const int64_t features = manifest.num_features();

  if (auto s = CheckVectorSize(kCustomerIdsFile, arrays.customer_ids, customers); !s.ok()) return s;
  for (size_t i = 0; i < arrays.customer_ids.size(); ++i) {
    if (arrays.customer_ids[i] <= 0 || (i > 0 && arrays.customer_ids[i] <= arrays.customer_ids[i - 1])) {
      return absl::InvalidArgumentError(absl::StrCat(kCustomerIdsFile, ": ids must be positive and strictly ascending; row ",
                                                     i, " holds ", arrays.customer_ids[i]));
    }
  }
  if (auto s = CheckMatrix(kCustomerFactorsFile, arrays.customer_factors, customers, factors); !s.ok()) return s;
  if (auto s = CheckMatrix(kProductFactorsFile, arrays.product_factors, products, factors); !s.ok()) return s;
  if (arrays.singular_values.size() != factors) {
    return ShapeError(kSingularValuesFile, ShapeText(factors), ShapeText(arrays.singular_values.size()));
  }
  if (!arrays.singular_values.allFinite()) {
    return absl::InvalidArgumentError(absl::StrCat(kSingularValuesFile, ": contains NaN or Inf"));
  }
  if (auto s = CheckMatrix(kClusterCentroidsFile, arrays.cluster_centroids, clusters, features); !s.ok()) return s;
  if (auto s = CheckVectorSize(kCustomerClustersFile, arrays.customer_clusters, customers); !s.ok()) return s;
  for (size_t i = 0; i < arrays.customer_clusters.size(); ++i) {
    if (arrays.customer_clusters[i] < 0 || arrays.customer_clusters[i] >= clusters) {
      return absl::InvalidArgumentError(absl::StrCat(kCustomerClustersFile, ": row ", i, " names cluster ",
                                                     arrays.customer_clusters[i], ", outside [0, ", clusters, ")"));
    }
  }
  if (auto s = CheckVectorSize(kHoldingsIndptrFile, arrays.holdings_indptr, customers + 1); !s.ok()) return s;
  if (arrays.holdings_indptr.front() != 0 ||
      arrays.holdings_indptr.back() != static_cast<int64_t>(arrays.holdings_indices.size())) {
    return absl::InvalidArgumentError(absl::StrCat(kHoldingsIndptrFile, ": must start at 0 and end at the length of ",
                                                   kHoldingsIndicesFile, " (", arrays.holdings_indices.size(), ")"));
  }
  for (int64_t row = 0; row < customers; ++row) {
    const int64_t begin = arrays.holdings_indptr[row];
    const int64_t end = arrays.holdings_indptr[row + 1];
    if (end < begin) {
      return absl::InvalidArgumentError(absl::StrCat(kHoldingsIndptrFile, ": decreases at row ", row));
    }
    for (int64_t k = begin; k < end; ++k) {
      const int32_t product = arrays.holdings_indices[k];
      if (product < 0 || product >= products || (k > begin && product <= arrays.holdings_indices[k - 1])) {
        return absl::InvalidArgumentError(absl::StrCat(kHoldingsIndicesFile, ": entry ", k, " (", product,
                                                       ") is out of range or not ascending within its row"));
      }
    }
  }
  if (auto s = CheckVectorSize(kProductPopularityFile, arrays.product_popularity, products); !s.ok()) return s;
  if (!arrays.customer_ages.empty()) {
    if (auto s = CheckVectorSize(kCustomerAgesFile, arrays.customer_ages, customers); !s.ok()) return s;
    for (int32_t age : arrays.customer_ages) {
      if (age < -1 || age > 130) {
        return absl::InvalidArgumentError(absl::StrCat(kCustomerAgesFile, ": age ", age, " is outside -1..130"));
      }
    }
  }
  if (!arrays.customer_flags.empty()) {
    if (auto s = CheckVectorSize(kCustomerFlagsFile, arrays.customer_flags, customers); !s.ok()) return s;
  }
  for (float value : arrays.product_popularity) {
    if (!std::isfinite(value)) {
      return absl::InvalidArgumentError(absl::StrCat(kProductPopularityFile, ": contains NaN or Inf"));
    }
  }
  return absl::OkStatus();
}

// A 300,000-product catalogue makes a 26 MB manifest; nothing real comes
// near this bound, which only keeps a runaway file from being read whole.
constexpr uintmax_t kMaxManifestBytes = uintmax_t{256} << 20;

// A listed file that is a symbolic link must resolve inside its version
// directory: a link out of it (another version's file, a secret, a device)
// is refused rather than followed. A dangling link is left to the read,
// which reports the file as missing.
absl::Status CheckStaysInside(const std::filesystem::path& dir, const std::string& file) {
  std::error_code error;
  if (!std::filesystem::is_symlink(std::filesystem::symlink_status(dir / file, error))) return absl::OkStatus();
  const std::filesystem::path target = std::filesystem::canonical(dir / file, error);
  if (error) return absl::OkStatus();
  const std::filesystem::path root = std::filesystem::canonical(dir, error);
  if (!error && std::mismatch(root.begin(), root.end(), target.begin(), target.end()).first == root.end()) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(file, ": symbolic link to ", absl::CHexEscape(target.string()),
                                                 ", outside the version directory; copy the file instead"));
}

// Reads one listed file straight into the storage `allocate` returns,
// verifying its checksum in the same pass.
absl::Status ReadVerified(const std::filesystem::path& dir, const std::string& file, const ModelManifest& manifest,
                          NpyDtype dtype, size_t dimensions, absl::FunctionRef<void*(const NpyHeader&)> allocate) {
  const auto entry = manifest.files().find(std::string(file));
  if (entry == manifest.files().end()) {
    return absl::InvalidArgumentError(absl::StrCat("manifest.json: files has no entry for ", file));
  }
  if (auto status = CheckStaysInside(dir, file); !status.ok()) return status;
  std::string actual;
  // A file with the wrong number of dimensions is read into a buffer of its
  // size and refused below, after its checksum (which names the real cause
  // when the file is simply corrupt).
  auto header = ReadNpyInto((dir / file).string(), file, dtype, allocate, &actual);
  if (!header.ok()) {
    // The manifest is written last, so a file it lists must exist: a missing
    // one is a broken version, not one still being written.
    if (absl::IsNotFound(header.status())) {
      return absl::DataLossError(absl::StrCat(file, ": listed in the manifest but missing"));
    }
    // A malformed file that is not what the manifest lists is a bad copy
    // (truncated, half-written): say so, with what the parser saw.
    auto bytes = ReadFileToString((dir / file).string());
    if (bytes.ok() && Sha256Hex(*bytes) != absl::AsciiStrToLower(entry->second.sha256())) {
      return absl::DataLossError(absl::StrCat(file, ": sha256 does not match the manifest (incomplete copy or "
                                              "corruption); ", header.status().message()));
    }
    return header.status();
  }
  if (actual != absl::AsciiStrToLower(entry->second.sha256())) {
    return absl::DataLossError(absl::StrCat(file, ": sha256 ", actual, " does not match the manifest's ",
                                            entry->second.sha256(), " (incomplete copy or corruption)"));
  }
  if (header->shape.size() != dimensions) {
    return absl::InvalidArgumentError(absl::StrCat(file, ": expected a ", dimensions,
                                                   "-dimensional array, got ", header->shape.size(),
                                                   " dimensions"));
  }
  return absl::OkStatus();
}

template <typename T>
absl::Status ReadVector(const std::filesystem::path& dir, const std::string& file, const ModelManifest& manifest,
                        std::vector<T>& out) {
  return ReadVerified(dir, file, manifest, NpyDtypeOf<T>(), 1, [&](const NpyHeader& header) -> void* {
    out.resize(static_cast<size_t>(header.num_elements()));
    return out.data();
  });
}

absl::Status ReadMatrix(const std::filesystem::path& dir, const std::string& file, const ModelManifest& manifest,
                        RowMajorMatrix& out) {
  return ReadVerified(dir, file, manifest, NpyDtype::kFloat32, 2, [&](const NpyHeader& header) -> void* {
    if (header.shape.size() == 2) {
      out.resize(header.shape[0], header.shape[1]);
    } else {
      out.resize(header.num_elements(), 1);
    }
    return out.data();
  });
}

RowMajorMatrix ClusterMeanFactors(const ModelManifest& manifest, const ModelArrays& arrays) {
  RowMajorMatrix means = RowMajorMatrix::Zero(manifest.num_clusters(), arrays.customer_factors.cols());
  std::vector<int64_t> sizes(static_cast<size_t>(manifest.num_clusters()), 0);
  for (size_t row = 0; row < arrays.customer_clusters.size(); ++row) {
    means.row(arrays.customer_clusters[row]) += arrays.customer_factors.row(static_cast<Eigen::Index>(row));
    ++sizes[arrays.customer_clusters[row]];
  }
  for (int c = 0; c < manifest.num_clusters(); ++c) {
    if (sizes[c] > 0) means.row(c) /= static_cast<float>(sizes[c]);
  }
  return means;
}

std::vector<int32_t> MinimumAges(const ModelManifest& manifest) {
  std::vector<int32_t> ages(static_cast<size_t>(manifest.products_size()), -1);
  for (const auto& rule : manifest.rules().minimum_age()) {
    for (int p = 0; p < manifest.products_size(); ++p) {
      if (manifest.products(p).id() == rule.product_id()) ages[p] = std::max(ages[p], rule.age());
    }
  }
  return ages;
}

}  // namespace

Model::Model(int64_t version, ModelManifest manifest, ModelArrays arrays)
    : version_(version),
      manifest_(std::move(manifest)),
      arrays_(std::move(arrays)),
      product_index_(IndexProducts(manifest_)),
      cluster_mean_factors_(ClusterMeanFactors(manifest_, arrays_)),
      minimum_age_(MinimumAges(manifest_)),
      feature_spec_(manifest_.features().begin(), manifest_.features().end()),
      packed_product_factors_(arrays_.product_factors),
      score_bias_(ProductScoreBias(arrays_.product_popularity, popularity_weight())) {}

absl::StatusOr<std::shared_ptr<const Model>> Model::Load(const std::string& version_dir, int64_t version) {
  const std::filesystem::path dir(version_dir);
  // The manifest gets the arrays' checks too: no link out of the version,
  // and a size bound (a real one is a few kB) before it is read whole.
  if (auto status = CheckStaysInside(dir, kManifestFile); !status.ok()) return status;
  std::error_code size_error;
  const auto manifest_size = std::filesystem::file_size(dir / kManifestFile, size_error);
  if (!size_error && manifest_size > kMaxManifestBytes) {
    return absl::InvalidArgumentError(absl::StrCat("manifest.json: ", manifest_size, " bytes, over the ",
                                                   kMaxManifestBytes >> 20, " MiB a manifest may have"));
  }
  auto manifest_bytes = ReadFileToString((dir / kManifestFile).string());
  if (!manifest_bytes.ok()) return manifest_bytes.status();
  auto manifest = ParseManifestJson(*manifest_bytes);
  if (!manifest.ok()) return manifest.status();
  if (auto status = ValidateManifest(*manifest); !status.ok()) return status;

  ModelArrays arrays;
  // Each array is read once, straight into its final storage (no staging
  // copy), and hashed on the way: a 10M-customer version loads at about the
  // speed of reading and hashing its bytes.
  if (auto s = ReadVector(dir, kCustomerIdsFile, *manifest, arrays.customer_ids); !s.ok()) return s;
  if (auto s = ReadMatrix(dir, kCustomerFactorsFile, *manifest, arrays.customer_factors); !s.ok()) return s;
  if (auto s = ReadMatrix(dir, kProductFactorsFile, *manifest, arrays.product_factors); !s.ok()) return s;
  std::vector<float> singular;
  if (auto s = ReadVector(dir, kSingularValuesFile, *manifest, singular); !s.ok()) return s;
  arrays.singular_values = Eigen::Map<const Eigen::VectorXf>(singular.data(), static_cast<Eigen::Index>(singular.size()));
  if (auto s = ReadMatrix(dir, kClusterCentroidsFile, *manifest, arrays.cluster_centroids); !s.ok()) return s;
  if (auto s = ReadVector(dir, kCustomerClustersFile, *manifest, arrays.customer_clusters); !s.ok()) return s;
  if (auto s = ReadVector(dir, kHoldingsIndptrFile, *manifest, arrays.holdings_indptr); !s.ok()) return s;
  if (auto s = ReadVector(dir, kHoldingsIndicesFile, *manifest, arrays.holdings_indices); !s.ok()) return s;
  if (auto s = ReadVector(dir, kProductPopularityFile, *manifest, arrays.product_popularity); !s.ok()) return s;

  // Optional files: read only when the manifest lists them.
  if (manifest->files().contains(kCustomerAgesFile)) {
    if (auto s = ReadVector(dir, kCustomerAgesFile, *manifest, arrays.customer_ages); !s.ok()) return s;
    // Listed means present: an empty file would silently mean "no ages".
    if (auto s = CheckVectorSize(kCustomerAgesFile, arrays.customer_ages, manifest->num_customers()); !s.ok()) {
      return s;
    }
  }
  if (manifest->files().contains(kCustomerFlagsFile)) {
    if (auto s = ReadVector(dir, kCustomerFlagsFile, *manifest, arrays.customer_flags); !s.ok()) return s;
    if (auto s = CheckVectorSize(kCustomerFlagsFile, arrays.customer_flags, manifest->num_customers()); !s.ok()) {
      return s;
    }
  }

  return FromArrays(version, *std::move(manifest), std::move(arrays));
}

absl::StatusOr<std::shared_ptr<const Model>> Model::FromArrays(int64_t version, ModelManifest manifest,
                                                               ModelArrays arrays) {
  if (version < 1) return absl::InvalidArgumentError(absl::StrCat("model version ", version, " is not positive"));
  if (auto status = ValidateManifest(manifest); !status.ok()) return status;
  if (auto status = ValidateArrays(manifest, arrays); !status.ok()) return status;
  return std::shared_ptr<const Model>(new Model(version, std::move(manifest), std::move(arrays)));
}

std::optional<int32_t> Model::FindProduct(absl::string_view product_id) const {
  const auto it = product_index_.find(product_id);
  if (it == product_index_.end()) return std::nullopt;
  return it->second;
}

std::optional<int64_t> Model::FindCustomer(int64_t customer_id) const {
  const auto it = std::lower_bound(arrays_.customer_ids.begin(), arrays_.customer_ids.end(), customer_id);
  if (it == arrays_.customer_ids.end() || *it != customer_id) return std::nullopt;
  return it - arrays_.customer_ids.begin();
}

}  // namespace easymoney
