#include "absl/strings/string_view.h"
#include "core/model/model.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <filesystem>
#include <optional>
#include <thread>

#include "absl/cleanup/cleanup.h"
#include "absl/functional/function_ref.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/model/manifest_json.h"
#include "core/model/npy.h"
#include "core/util/sha256.h"

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

// The largest |value| of `values`, or a non-finite value when any is NaN or
// Inf: the maximum of the bits without the sign, which orders finite floats
// by magnitude and puts NaN and Inf (exponent all ones) above them. One
// branchless, vectorised pass, several times faster than Eigen's
// allFinite() on the 320M values of a 10M-customer version.
float MaxAbs(const float* values, size_t size) {
  uint32_t max_bits = 0;
  for (size_t i = 0; i < size; ++i) max_bits = std::max(max_bits, std::bit_cast<uint32_t>(values[i]) & 0x7fffffffu);
  return std::bit_cast<float>(max_bits);
}

// Checks the shape and that every value is finite; `max_abs`, when given,
// receives the largest |value|.
absl::Status CheckMatrix(absl::string_view file, const float* data, int64_t actual_rows, int64_t actual_cols,
                         int64_t rows, int64_t cols, float* max_abs = nullptr) {
  if (actual_rows != rows || actual_cols != cols) {
    return ShapeError(file, ShapeText(rows, cols), ShapeText(actual_rows, actual_cols));
  }
  const float largest = MaxAbs(data, static_cast<size_t>(rows * cols));
  if (!std::isfinite(largest)) {
    return absl::InvalidArgumentError(absl::StrCat(file, ": contains NaN or Inf"));
  }
  if (max_abs != nullptr) *max_abs = largest;
  return absl::OkStatus();
}

absl::Status CheckMatrix(absl::string_view file, const RowMajorMatrix& matrix, int64_t rows, int64_t cols,
                         float* max_abs = nullptr) {
  return CheckMatrix(file, matrix.data(), matrix.rows(), matrix.cols(), rows, cols, max_abs);
}

// Finite factors can still overflow a score: 3e38 x 2 is Inf in float, and
// an answer would carry it. Every score the server computes is a dot
// product of one of these customer vectors with a product's factors, plus
// popularity_weight x popularity:
//   - a stored customer's factors (each coordinate at most max_customer);
//   - folded-in factors, the sum of at most `products` product rows (each
//     coordinate at most products x max_product);
//   - a cluster's factors, a mean of stored customers' factors.
// Each |dot product| is at most factors x max_customer_coordinate x
// max_product (Cauchy-Schwarz with both norms bounded by sqrt(factors) x
// their largest coordinate). The version is refused unless that bound stays
// below kMaxScoreBound, far from float's 3.4e38.
constexpr double kMaxScoreBound = 1e30;

absl::Status CheckScoreBound(int64_t products, int64_t factors, float max_customer, float max_product,
                             double popularity_weight, float max_popularity) {
  // Serving multiplies by the weight as a float.
  if (!std::isfinite(static_cast<float>(popularity_weight))) {
    return absl::InvalidArgumentError(
        absl::StrFormat("scores could overflow: popularity_weight %g does not fit a float", popularity_weight));
  }
  const double max_coordinate =
      std::max(static_cast<double>(max_customer), static_cast<double>(products) * max_product);
  const double bound = static_cast<double>(factors) * max_coordinate * max_product +
                       popularity_weight * static_cast<double>(max_popularity);
  if (!(bound <= kMaxScoreBound)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "scores could overflow: the largest factors (customers %g, products %g, %d factors, %d products) bound a "
        "score by %g, above %g",
        max_customer, max_product, factors, products, bound, kMaxScoreBound));
  }
  return absl::OkStatus();
}

template <typename T>
absl::Status CheckVectorSize(absl::string_view file, std::span<const T> values, int64_t size) {
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

CustomerArraysView ViewOf(const ModelArrays& arrays) {
  CustomerArraysView view;
  view.ids = arrays.customer_ids;
  view.factors = arrays.customer_factors.data();
  view.factor_rows = arrays.customer_factors.rows();
  view.factor_cols = arrays.customer_factors.cols();
  view.clusters = arrays.customer_clusters;
  view.holdings_indptr = arrays.holdings_indptr;
  view.holdings_indices = arrays.holdings_indices;
  view.ages = arrays.customer_ages;
  view.flags = arrays.customer_flags;
  return view;
}

// `arrays` holds the per-product and per-cluster arrays; the per-customer
// ones are checked through `customers`, wherever they live.
absl::Status ValidateArrays(const ModelManifest& manifest, const ModelArrays& arrays,
                            const CustomerArraysView& customers_view) {
  const int64_t customers = manifest.num_customers();
  const int64_t products = manifest.num_products();
  const int64_t factors = manifest.num_factors();
  const int64_t clusters = manifest.num_clusters();
  const int64_t features = manifest.num_features();
  const auto ids = customers_view.ids;
  const auto customer_clusters = customers_view.clusters;
  const auto indptr = customers_view.holdings_indptr;
  const auto indices = customers_view.holdings_indices;

  if (auto s = CheckVectorSize(kCustomerIdsFile, ids, customers); !s.ok()) return s;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] <= 0 || (i > 0 && ids[i] <= ids[i - 1])) {
      return absl::InvalidArgumentError(absl::StrCat(kCustomerIdsFile, ": ids must be positive and strictly ascending; row ",
                                                     i, " holds ", ids[i]));
    }
  }
  float max_customer = 0;
  float max_product = 0;
  if (auto s = CheckMatrix(kCustomerFactorsFile, customers_view.factors, customers_view.factor_rows,
                           customers_view.factor_cols, customers, factors, &max_customer);
      !s.ok()) {
    return s;
  }
  if (auto s = CheckMatrix(kProductFactorsFile, arrays.product_factors, products, factors, &max_product); !s.ok()) {
    return s;
  }
  if (arrays.singular_values.size() != factors) {
    return ShapeError(kSingularValuesFile, ShapeText(factors), ShapeText(arrays.singular_values.size()));
  }
  if (!arrays.singular_values.allFinite()) {
    return absl::InvalidArgumentError(absl::StrCat(kSingularValuesFile, ": contains NaN or Inf"));
  }
  if (auto s = CheckMatrix(kClusterCentroidsFile, arrays.cluster_centroids, clusters, features); !s.ok()) return s;
  if (auto s = CheckVectorSize(kCustomerClustersFile, customer_clusters, customers); !s.ok()) return s;
  for (size_t i = 0; i < customer_clusters.size(); ++i) {
    if (customer_clusters[i] < 0 || customer_clusters[i] >= clusters) {
      return absl::InvalidArgumentError(absl::StrCat(kCustomerClustersFile, ": row ", i, " names cluster ",
                                                     customer_clusters[i], ", outside [0, ", clusters, ")"));
    }
  }
  if (auto s = CheckVectorSize(kHoldingsIndptrFile, indptr, customers + 1); !s.ok()) return s;
  if (indptr.front() != 0 || indptr.back() != static_cast<int64_t>(indices.size())) {
    return absl::InvalidArgumentError(absl::StrCat(kHoldingsIndptrFile, ": must start at 0 and end at the length of ",
                                                   kHoldingsIndicesFile, " (", indices.size(), ")"));
  }
  for (int64_t row = 0; row < customers; ++row) {
    const int64_t begin = indptr[row];
    const int64_t end = indptr[row + 1];
    if (end < begin) {
      return absl::InvalidArgumentError(absl::StrCat(kHoldingsIndptrFile, ": decreases at row ", row));
    }
    for (int64_t k = begin; k < end; ++k) {
      const int32_t product = indices[k];
      if (product < 0 || product >= products || (k > begin && product <= indices[k - 1])) {
        return absl::InvalidArgumentError(absl::StrCat(kHoldingsIndicesFile, ": entry ", k, " (", product,
                                                       ") is out of range or not ascending within its row"));
      }
    }
  }
  if (auto s = CheckVectorSize<float>(kProductPopularityFile, arrays.product_popularity, products); !s.ok()) return s;
  if (!customers_view.ages.empty()) {
    if (auto s = CheckVectorSize(kCustomerAgesFile, customers_view.ages, customers); !s.ok()) return s;
    for (int32_t age : customers_view.ages) {
      if (age < -1 || age > 130) {
        return absl::InvalidArgumentError(absl::StrCat(kCustomerAgesFile, ": age ", age, " is outside -1..130"));
      }
    }
  }
  if (!customers_view.flags.empty()) {
    if (auto s = CheckVectorSize(kCustomerFlagsFile, customers_view.flags, customers); !s.ok()) return s;
  }
  float max_popularity = 0;
  for (float value : arrays.product_popularity) {
    if (!std::isfinite(value)) {
      return absl::InvalidArgumentError(absl::StrCat(kProductPopularityFile, ": contains NaN or Inf"));
    }
    max_popularity = std::max(max_popularity, std::fabs(value));
  }
  return CheckScoreBound(products, factors, max_customer, max_product, manifest.training().popularity_weight(),
                         max_popularity);
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

// The verdict on a listed file once its header (or the reason it has none)
// and its checksum are known. A malformed file whose bytes are not what the
// manifest lists is a bad copy (truncated, half-written): the checksum names
// that cause first, with what the parser saw. `actual_sha256` is empty when
// the file could not be hashed.
absl::Status ListedFileVerdict(const std::string& file, const std::string& listed,
                               const absl::StatusOr<NpyHeader>& header, const std::string& actual_sha256,
                               size_t dimensions) {
  const bool matches = actual_sha256 == absl::AsciiStrToLower(listed);
  if (!header.ok()) {
    if (!actual_sha256.empty() && !matches) {
      return absl::DataLossError(absl::StrCat(file, ": sha256 does not match the manifest (incomplete copy or "
                                              "corruption); ", header.status().message()));
    }
    return header.status();
  }
  if (!matches) {
    return absl::DataLossError(absl::StrCat(file, ": sha256 ", actual_sha256, " does not match the manifest's ",
                                            listed, " (incomplete copy or corruption)"));
  }
  if (header->shape.size() != dimensions) {
    return absl::InvalidArgumentError(absl::StrCat(file, ": expected a ", dimensions,
                                                   "-dimensional array, got ", header->shape.size(),
                                                   " dimensions"));
  }
  return absl::OkStatus();
}

// The checks every listed file gets before it is opened.
absl::Status CheckListed(const std::filesystem::path& dir, const std::string& file, const ModelManifest& manifest) {
  if (!manifest.files().contains(file)) {
    return absl::InvalidArgumentError(absl::StrCat("manifest.json: files has no entry for ", file));
  }
  return CheckStaysInside(dir, file);
}

// The manifest is written last, so a file it lists must exist: a missing one
// is a broken version, not one still being written.
absl::Status MissingIsDataLoss(const std::string& file, absl::Status status) {
  if (absl::IsNotFound(status)) return absl::DataLossError(absl::StrCat(file, ": listed in the manifest but missing"));
  return status;
}

// Reads one listed file straight into the storage `allocate` returns,
// verifying its checksum in the same pass.
// The shape the manifest gives each array, or nullopt where it sets only a
// bound (holdings_indices: at most customers x products entries).
std::optional<std::vector<int64_t>> ExpectedShape(absl::string_view file, const ModelManifest& manifest) {
  const int64_t customers = manifest.num_customers();
  if (file == kCustomerIdsFile || file == kCustomerClustersFile || file == kCustomerAgesFile ||
      file == kCustomerFlagsFile) {
    return std::vector<int64_t>{customers};
  }
  if (file == kCustomerFactorsFile) return std::vector<int64_t>{customers, manifest.num_factors()};
  if (file == kProductFactorsFile) return std::vector<int64_t>{manifest.num_products(), manifest.num_factors()};
  if (file == kSingularValuesFile) return std::vector<int64_t>{manifest.num_factors()};
  if (file == kClusterCentroidsFile) return std::vector<int64_t>{manifest.num_clusters(), manifest.num_features()};
  if (file == kHoldingsIndptrFile) return std::vector<int64_t>{customers + 1};
  if (file == kProductPopularityFile) return std::vector<int64_t>{manifest.num_products()};
  return std::nullopt;
}

std::string ShapeText(const std::vector<int64_t>& shape) {
  if (shape.size() == 1) return ShapeText(shape[0]);
  if (shape.size() == 2) return ShapeText(shape[0], shape[1]);
  return absl::StrCat("(", absl::StrJoin(shape, ", "), ")");
}

absl::Status CheckShapeAgainstManifest(absl::string_view file, const NpyHeader& header,
                                       const ModelManifest& manifest) {
  if (const auto expected = ExpectedShape(file, manifest); expected.has_value()) {
    if (header.shape != *expected) return ShapeError(file, ShapeText(*expected), ShapeText(header.shape));
    return absl::OkStatus();
  }
  if (file == kHoldingsIndicesFile) {
    const int64_t most = manifest.num_customers() * manifest.num_products();
    if (header.shape.size() != 1 || header.shape[0] > most) {
      return absl::InvalidArgumentError(absl::StrCat(file, ": shape ", ShapeText(header.shape),
                                                     " holds more than the ", most,
                                                     " holdings the manifest's customers x products allow"));
    }
  }
  return absl::OkStatus();
}

absl::Status ReadVerified(const std::filesystem::path& dir, const std::string& file, const ModelManifest& manifest,
                          NpyDtype dtype, size_t dimensions, absl::FunctionRef<void*(const NpyHeader&)> allocate) {
  if (auto status = CheckListed(dir, file, manifest); !status.ok()) return status;
  std::string actual;
  // A header that parses but disagrees with the manifest is refused before
  // any data is read (below); one that does not parse is refused after its
  // checksum, which names the real cause when the file is simply corrupt.
  // The header first, against the manifest: a file whose shape disagrees is
  // refused before its data is read or hashed, so a lying or sparse file of
  // any size costs a header's read.
  if (auto header = ReadNpyHeader((dir / file).string(), file); header.ok()) {
    if (auto status = CheckShapeAgainstManifest(file, *header, manifest); !status.ok()) return status;
  }
  auto header = ReadNpyInto((dir / file).string(), file, dtype, allocate, &actual);
  if (!header.ok()) {
    if (absl::IsNotFound(header.status())) return MissingIsDataLoss(file, header.status());
    // Hashed in chunks: whatever the file's size, the verdict costs no more
    // memory than a chunk.
    auto checksum = Sha256HexOfFile((dir / file).string());
    actual = checksum.ok() ? *checksum : "";
  }
  return ListedFileVerdict(file, manifest.files().at(file).sha256(), header, actual, dimensions);
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

// Reads the per-product and per-cluster arrays, which are small whatever the
// number of customers.
absl::Status ReadCatalogueArrays(const std::filesystem::path& dir, const ModelManifest& manifest,
                                 ModelArrays& arrays) {
  if (auto s = ReadMatrix(dir, kProductFactorsFile, manifest, arrays.product_factors); !s.ok()) return s;
  std::vector<float> singular;
  if (auto s = ReadVector(dir, kSingularValuesFile, manifest, singular); !s.ok()) return s;
  arrays.singular_values = Eigen::Map<const Eigen::VectorXf>(singular.data(), static_cast<Eigen::Index>(singular.size()));
  if (auto s = ReadMatrix(dir, kClusterCentroidsFile, manifest, arrays.cluster_centroids); !s.ok()) return s;
  return ReadVector(dir, kProductPopularityFile, manifest, arrays.product_popularity);
}

// Listed optional files must hold one entry per customer: an empty file
// would silently mean "no ages".
template <typename T>
absl::Status CheckListedOptional(const ModelManifest& manifest, const char* file, std::span<const T> values) {
  if (!manifest.files().contains(file)) return absl::OkStatus();
  return CheckVectorSize(file, values, manifest.num_customers());
}

// A per-customer array mapped from its file, with its header.
struct MappedArray {
  MappedArray(std::string file, NpyDtype dtype, size_t dimensions)
      : file(std::move(file)), dtype(dtype), dimensions(dimensions) {}

  std::string file;
  NpyDtype dtype;
  size_t dimensions;
  MappedFile mapping;
  absl::StatusOr<NpyHeader> header = absl::UnknownError("not parsed");

  const char* data() const { return mapping.bytes().data() + header->data_offset; }
  template <typename T>
  std::span<const T> values() const {
    return {reinterpret_cast<const T*>(data()), static_cast<size_t>(header->num_elements())};
  }
};

size_t DtypeAlignment(NpyDtype dtype) {
  switch (dtype) {
    case NpyDtype::kInt64:
      return alignof(int64_t);
    case NpyDtype::kFloat32:
    case NpyDtype::kInt32:
      return alignof(int32_t);
    case NpyDtype::kUint8:
      return 1;
  }
  return 1;
}

// Maps a listed file and parses its header. The status returned is for a file
// that cannot be used at all (not listed, a link out, missing, not a regular
// file); a malformed header is kept in `array.header`, to be judged with the
// checksum.
absl::Status MapListed(const std::filesystem::path& dir, const ModelManifest& manifest, MappedArray& array) {
  if (auto status = CheckListed(dir, array.file, manifest); !status.ok()) return status;
  // The header first, read without mapping (the mapping is populated at
  // once): a shape the manifest does not give is refused before anything
  // of the file is mapped or hashed, and a header that does not parse is
  // never mapped (its verdict hashes the file in chunks).
  const absl::StatusOr<NpyHeader> header = ReadNpyHeader((dir / array.file).string(), array.file);
  if (!header.ok()) {
    if (absl::IsNotFound(header.status())) return MissingIsDataLoss(array.file, header.status());
    array.header = header.status();
    return absl::OkStatus();
  }
  if (auto status = CheckShapeAgainstManifest(array.file, *header, manifest); !status.ok()) return status;
  auto mapping = MappedFile::Open((dir / array.file).string(), array.file);
  if (!mapping.ok()) return MissingIsDataLoss(array.file, mapping.status());
  array.mapping = *std::move(mapping);
  array.header = ParseNpyHeader(array.mapping.bytes(), array.file);
  if (array.header.ok() && array.header->dtype != array.dtype) {
    array.header = absl::InvalidArgumentError(absl::StrCat(array.file, ": dtype is ", NpyDescr(array.header->dtype),
                                                           ", expected ", NpyDescr(array.dtype)));
  }
  return absl::OkStatus();
}

// True when `array` can be used in place: a well-formed header of the right
// rank, and data aligned for its type (numpy aligns it to 64 bytes; only a
// hand-made file would not be).
bool UsableInPlace(const MappedArray& array) {
  return array.header.ok() && array.header->shape.size() == array.dimensions &&
         array.header->data_offset % DtypeAlignment(array.dtype) == 0;
}

RowMajorMatrix ClusterMeanFactors(const ModelManifest& manifest, const CustomerArraysView& customers) {
  const Eigen::Map<const RowMajorMatrix> factors(customers.factors, customers.factor_rows, customers.factor_cols);
  // Summed in double: a float sum of millions of large (but bounded)
  // coordinates could overflow where their mean does not.
  Eigen::MatrixXd sums = Eigen::MatrixXd::Zero(manifest.num_clusters(), customers.factor_cols);
  std::vector<int64_t> sizes(static_cast<size_t>(manifest.num_clusters()), 0);
  for (size_t row = 0; row < customers.clusters.size(); ++row) {
    sums.row(customers.clusters[row]) += factors.row(static_cast<Eigen::Index>(row)).cast<double>();
    ++sizes[customers.clusters[row]];
  }
  for (int c = 0; c < manifest.num_clusters(); ++c) {
    if (sizes[c] > 0) sums.row(c) /= static_cast<double>(sizes[c]);
  }
  return sums.cast<float>();
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

Model::Model(int64_t version, ModelManifest manifest, ModelArrays arrays, std::vector<MappedFile> mapped,
             const CustomerArraysView& mapped_view)
    : version_(version),
      manifest_(std::move(manifest)),
      arrays_(std::move(arrays)),
      mapped_files_(std::move(mapped)),
      mapped_bytes_([this] {
        size_t bytes = 0;
        for (const MappedFile& file : mapped_files_) bytes += file.bytes().size();
        return bytes;
      }()),
      customers_(mapped_files_.empty() ? ViewOf(arrays_) : mapped_view),
      customer_index_(customers_.ids),
      product_index_(IndexProducts(manifest_)),
      cluster_mean_factors_(ClusterMeanFactors(manifest_, customers_)),
      minimum_age_(MinimumAges(manifest_)),
      feature_spec_(manifest_.features().begin(), manifest_.features().end()),
      packed_product_factors_(arrays_.product_factors),
      score_bias_(ProductScoreBias(arrays_.product_popularity, popularity_weight())) {}

namespace {

// The first steps of every load: the manifest, read with the arrays' checks
// (no link out of the version, and a size bound before it is read whole).
absl::StatusOr<ModelManifest> ReadManifest(const std::filesystem::path& dir) {
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
  return manifest;
}

// Reads every array into memory. Each is read once, straight into its final
// storage (no staging copy), and hashed on the way.
absl::StatusOr<ModelArrays> ReadAllArrays(const std::filesystem::path& dir, const ModelManifest& manifest) {
  ModelArrays arrays;
  if (auto s = ReadVector(dir, kCustomerIdsFile, manifest, arrays.customer_ids); !s.ok()) return s;
  if (auto s = ReadMatrix(dir, kCustomerFactorsFile, manifest, arrays.customer_factors); !s.ok()) return s;
  if (auto s = ReadCatalogueArrays(dir, manifest, arrays); !s.ok()) return s;
  if (auto s = ReadVector(dir, kCustomerClustersFile, manifest, arrays.customer_clusters); !s.ok()) return s;
  if (auto s = ReadVector(dir, kHoldingsIndptrFile, manifest, arrays.holdings_indptr); !s.ok()) return s;
  if (auto s = ReadVector(dir, kHoldingsIndicesFile, manifest, arrays.holdings_indices); !s.ok()) return s;
  // Optional files: read only when the manifest lists them.
  if (manifest.files().contains(kCustomerAgesFile)) {
    if (auto s = ReadVector(dir, kCustomerAgesFile, manifest, arrays.customer_ages); !s.ok()) return s;
    if (auto s = CheckListedOptional<int32_t>(manifest, kCustomerAgesFile, arrays.customer_ages); !s.ok()) return s;
  }
  if (manifest.files().contains(kCustomerFlagsFile)) {
    if (auto s = ReadVector(dir, kCustomerFlagsFile, manifest, arrays.customer_flags); !s.ok()) return s;
    if (auto s = CheckListedOptional<uint8_t>(manifest, kCustomerFlagsFile, arrays.customer_flags); !s.ok()) {
      return s;
    }
  }
  return arrays;
}

}  // namespace

absl::StatusOr<std::shared_ptr<const Model>> Model::Load(const std::string& version_dir, int64_t version,
                                                         const ModelLoadOptions& options) {
  const std::filesystem::path dir(version_dir);
  auto manifest = ReadManifest(dir);
  if (!manifest.ok()) return manifest.status();
  if (!options.map_customer_arrays) {
    auto arrays = ReadAllArrays(dir, *manifest);
    if (!arrays.ok()) return arrays.status();
    return FromArrays(version, *std::move(manifest), *std::move(arrays));
  }

  std::vector<MappedArray> mapped;
  mapped.emplace_back(kCustomerIdsFile, NpyDtype::kInt64, 1);
  mapped.emplace_back(kCustomerFactorsFile, NpyDtype::kFloat32, 2);
  mapped.emplace_back(kCustomerClustersFile, NpyDtype::kInt32, 1);
  mapped.emplace_back(kHoldingsIndptrFile, NpyDtype::kInt64, 1);
  mapped.emplace_back(kHoldingsIndicesFile, NpyDtype::kInt32, 1);
  // Optional files: mapped only when the manifest lists them.
  const bool has_ages = manifest->files().contains(kCustomerAgesFile);
  const bool has_flags = manifest->files().contains(kCustomerFlagsFile);
  if (has_ages) mapped.emplace_back(kCustomerAgesFile, NpyDtype::kInt32, 1);
  if (has_flags) mapped.emplace_back(kCustomerFlagsFile, NpyDtype::kUint8, 1);
  for (MappedArray& array : mapped) {
    if (auto status = MapListed(dir, *manifest, array); !status.ok()) return status;
  }
  // A hand-made file with data not aligned for its type cannot be used in
  // place; it is read into memory like every other array then.
  for (const MappedArray& array : mapped) {
    if (array.header.ok() && array.header->shape.size() == array.dimensions && !UsableInPlace(array)) {
      return Load(version_dir, version, ModelLoadOptions{.map_customer_arrays = false});
    }
  }

  // The checksums (SHA-256 of 1.5 GB for 10M customers x 32 factors: most of
  // the load) are computed on a second thread while this one reads the small
  // arrays and validates the mapped ones in place. Validation only reads, so
  // garbage bytes cannot harm it; a checksum mismatch is still the verdict
  // that wins, since it names the real cause (a bad copy).
  std::vector<absl::string_view> file_bytes;
  // A file whose header does not parse is hashed by reading it in chunks
  // rather than through its mapping: touching a huge (or sparse) mapping
  // would make all of it resident while the version is being refused.
  std::vector<std::string> read_paths;
  for (const MappedArray& array : mapped) {
    file_bytes.push_back(array.header.ok() ? array.mapping.bytes() : absl::string_view());
    read_paths.push_back(array.header.ok() ? std::string() : (dir / array.file).string());
  }
  std::vector<std::string> checksums(mapped.size());
  // What the manifest lists, kept apart so the manifest itself can move into
  // the model (a 300,000-product one is 26 MB) before the verdicts are read.
  std::vector<std::string> listed_checksums;
  for (const MappedArray& array : mapped) listed_checksums.push_back(manifest->files().at(array.file).sha256());
  std::thread hasher([&file_bytes, &read_paths, &checksums] {
    for (size_t i = 0; i < file_bytes.size(); ++i) {
      if (read_paths[i].empty()) {
        checksums[i] = Sha256Hex(file_bytes[i]);
      } else {
        absl::StatusOr<std::string> checksum = Sha256HexOfFile(read_paths[i]);
        checksums[i] = checksum.ok() ? *checksum : "";
      }
    }
  });
  absl::Cleanup join_hasher = [&hasher] {
    if (hasher.joinable()) hasher.join();
  };
  const auto verdicts = [&]() -> absl::Status {
    hasher.join();
    for (size_t i = 0; i < mapped.size(); ++i) {
      if (auto status = ListedFileVerdict(mapped[i].file, listed_checksums[i], mapped[i].header, checksums[i],
                                          mapped[i].dimensions);
          !status.ok()) {
        return status;
      }
    }
    return absl::OkStatus();
  };
  for (const MappedArray& array : mapped) {
    if (!UsableInPlace(array)) return verdicts();
  }

  ModelArrays arrays;
  if (auto status = ReadCatalogueArrays(dir, *manifest, arrays); !status.ok()) return status;
  CustomerArraysView view;
  view.ids = mapped[0].values<int64_t>();
  view.factors = reinterpret_cast<const float*>(mapped[1].data());
  view.factor_rows = mapped[1].header->shape[0];
  view.factor_cols = mapped[1].header->shape[1];
  view.clusters = mapped[2].values<int32_t>();
  view.holdings_indptr = mapped[3].values<int64_t>();
  view.holdings_indices = mapped[4].values<int32_t>();
  size_t next = 5;
  if (has_ages) view.ages = mapped[next++].values<int32_t>();
  if (has_flags) view.flags = mapped[next++].values<uint8_t>();

  absl::Status listed = CheckListedOptional(*manifest, kCustomerAgesFile, view.ages);
  if (listed.ok()) listed = CheckListedOptional(*manifest, kCustomerFlagsFile, view.flags);
  if (!listed.ok()) {
    if (auto status = verdicts(); !status.ok()) return status;
    return listed;
  }
  // Declared before the hasher is joined below, so that mappings a refused
  // version leaves here outlive its reads; an accepted version owns them
  // (same addresses) from here on.
  std::vector<MappedFile> files;
  for (MappedArray& array : mapped) files.push_back(std::move(array.mapping));
  absl::StatusOr<std::shared_ptr<const Model>> model = Validated(version, *std::move(manifest), std::move(arrays), &files, view);
  if (auto status = verdicts(); !status.ok()) return status;
  return model;
}

absl::StatusOr<std::shared_ptr<const Model>> Model::FromArrays(int64_t version, ModelManifest manifest,
                                                               ModelArrays arrays) {
  if (auto status = ValidateManifest(manifest); !status.ok()) return status;
  const CustomerArraysView view = ViewOf(arrays);
  return Validated(version, std::move(manifest), std::move(arrays), nullptr, view);
}

absl::StatusOr<std::shared_ptr<const Model>> Model::Validated(int64_t version, ModelManifest manifest,
                                                              ModelArrays arrays, std::vector<MappedFile>* mapped,
                                                              const CustomerArraysView& view) {
  if (version < 1) return absl::InvalidArgumentError(absl::StrCat("model version ", version, " is not positive"));
  if (auto status = ValidateArrays(manifest, arrays, view); !status.ok()) return status;
  std::vector<MappedFile> files;
  if (mapped != nullptr) files = std::move(*mapped);
  return std::shared_ptr<const Model>(new Model(version, std::move(manifest), std::move(arrays), std::move(files), view));
}

std::optional<int32_t> Model::FindProduct(absl::string_view product_id) const {
  const auto it = product_index_.find(product_id);
  if (it == product_index_.end()) return std::nullopt;
  return it->second;
}

std::optional<int64_t> Model::FindCustomer(int64_t customer_id) const { return customer_index_.Find(customer_id); }

}  // namespace easymoney
