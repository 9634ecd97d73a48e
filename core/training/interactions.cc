#include "core/training/interactions.h"

#include <sys/stat.h>

#include <Eigen/Eigenvalues>
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/training/blend.h"
#include "core/training/evaluation.h"
#include "core/training/kmeans.h"
#include "core/model/model.h"
#include "core/model/model_directory.h"
#include "core/util/progress.h"
#include "core/training/svd.h"

namespace easymoney {
namespace {

constexpr int64_t kProgressMinBytes = int64_t{16} << 20;
constexpr absl::string_view kColumnNames[] = {"customer_id", "product_id", "value", "timestamp"};

// ---------------------------------------------------------------- reading

struct RawInteraction {
  int64_t customer;
  int32_t product;  // Index in order of first appearance.
  float value;
};

absl::Status FieldError(const std::string& path, int64_t line, int column, absl::string_view value,
                        absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(path, ":", line, ": column ", column + 1, " '",
                                                 kColumnNames[column], "' value '",
                                                 absl::CHexEscape(value.substr(0, 80)), "': ", problem));
}

// Catalogue order: numeric when every id is a decimal integer, else bytes.
std::vector<int32_t> CatalogueOrder(const std::vector<std::string>& ids) {
  std::vector<uint64_t> numbers(ids.size());
  bool numeric = true;
  for (size_t i = 0; i < ids.size() && numeric; ++i) {
    numeric = ids[i].size() <= 18 &&
              std::all_of(ids[i].begin(), ids[i].end(), [](char c) { return c >= '0' && c <= '9'; }) &&
              absl::SimpleAtoi(ids[i], &numbers[i]);
  }
  std::vector<int32_t> order(ids.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int32_t>(i);
  std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
    if (numeric && numbers[a] != numbers[b]) return numbers[a] < numbers[b];
    return ids[a] < ids[b];
  });
  return order;
}

// Builds CSR from rows sorted by (customer, product) without duplicates.
Interactions FromSortedRows(const std::vector<RawInteraction>& rows, std::vector<std::string> product_ids) {
  Interactions out;
  out.product_ids = std::move(product_ids);
  out.indptr.push_back(0);
  out.products.reserve(rows.size());
  out.values.reserve(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    if (i == 0 || rows[i].customer != rows[i - 1].customer) {
      if (i > 0) out.indptr.push_back(static_cast<int64_t>(out.products.size()));
      out.customer_ids.push_back(rows[i].customer);
    }
    out.products.push_back(rows[i].product);
    out.values.push_back(rows[i].value);
  }
  if (!rows.empty()) out.indptr.push_back(static_cast<int64_t>(out.products.size()));
  return out;
}

// ---------------------------------------------------------------- splitting

uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

Interactions EmptyLike(const Interactions& all) {
  Interactions out;
  out.customer_ids = all.customer_ids;
  out.product_ids = all.product_ids;
  out.indptr.reserve(all.indptr.size());
  out.indptr.push_back(0);
  return out;
}

// ---------------------------------------------------------------- the model

// Training customers with an interaction, per product.
std::vector<double> ProductCounts(const Interactions& data) {
  std::vector<double> counts(static_cast<size_t>(data.num_products()), 0.0);
  for (int32_t product : data.products) counts[static_cast<size_t>(product)] += 1;
  return counts;
}

// R' = transform(R) * diag(popularity^-exponent).
HoldingsMatrix TransformedMatrix(const Interactions& data, const InteractionsModelConfig& config) {
  const std::vector<double> counts = ProductCounts(data);
  std::vector<float> scale(counts.size(), 0.0f);
  for (size_t j = 0; j < counts.size(); ++j) {
    if (counts[j] > 0) scale[j] = static_cast<float>(std::pow(counts[j], -config.popularity_exponent));
  }
  HoldingsMatrix matrix(data.num_customers(), data.num_products());
  std::vector<Eigen::Triplet<float, int64_t>> triplets;
  triplets.reserve(data.products.size());
  for (int64_t row = 0; row < data.num_customers(); ++row) {
    const int64_t count = data.indptr[row + 1] - data.indptr[row];
    const float row_scale =
        count > 0 ? static_cast<float>(std::pow(static_cast<double>(count), -config.activity_exponent)) : 0.0f;
    for (int64_t k = data.indptr[row]; k < data.indptr[row + 1]; ++k) {
      const int32_t product = data.products[k];
      const float value = config.binary ? 1.0f : data.values[k];
      triplets.emplace_back(row, product, value * row_scale * scale[static_cast<size_t>(product)]);
    }
  }
  matrix.setFromTriplets(triplets.begin(), triplets.end());
  return matrix;
}

// Ranks every customer's products by customer_factors . product_factors
// (or by `fixed_scores` when given), the products in `train` excluded, and
// scores the lists against `test`.
RankingMetrics Evaluate(const Interactions& train, const Interactions& test, int k,
                        const RowMajorMatrix* customer_factors, const RowMajorMatrix* product_factors,
                        const std::vector<float>* fixed_scores) {
  const int num_products = train.num_products();
  RankingEvaluator evaluator(k, num_products);
  constexpr int64_t kBlock = 512;
  RowMajorMatrix scores;
  std::vector<uint8_t> excluded(static_cast<size_t>(num_products), 0);
  for (int64_t begin = 0; begin < train.num_customers(); begin += kBlock) {
    const int64_t end = std::min(train.num_customers(), begin + kBlock);
    if (fixed_scores == nullptr) {
      scores.noalias() = customer_factors->middleRows(begin, end - begin) * product_factors->transpose();
    }
    for (int64_t row = begin; row < end; ++row) {
      if (test.indptr[row] == test.indptr[row + 1]) continue;  // Nothing to find.
      for (int64_t i = train.indptr[row]; i < train.indptr[row + 1]; ++i) excluded[train.products[i]] = 1;
      std::span<const float> row_scores =
          fixed_scores != nullptr
              ? std::span<const float>(*fixed_scores)
              : std::span<const float>(scores.row(row - begin).data(), static_cast<size_t>(num_products));
      evaluator.Add(row_scores, excluded,
                    std::span<const int32_t>(test.products)
                        .subspan(static_cast<size_t>(test.indptr[row]),
                                 static_cast<size_t>(test.indptr[row + 1] - test.indptr[row])));
      for (int64_t i = train.indptr[row]; i < train.indptr[row + 1]; ++i) excluded[train.products[i]] = 0;
    }
  }
  return evaluator.Result();
}

struct FittedModel {
  TruncatedSvd svd;
  double total_energy = 0;  // ||R'||_F^2 (PureSVD) or ||X||_F^2 (EASE).
};

// EASE reads the binary matrix, whatever the PureSVD transforms say.
InteractionsModelConfig EaseMatrixConfig() { return InteractionsModelConfig{}; }

// `spectrum`, when given, must be the Gram spectrum of `train`'s binary
// matrix; EASE computes it otherwise. `ease_part`, when given, must be the
// EASE factors of `train` at `config`'s EASE settings, and ease_part_rms
// (when not negative) its RmsScore: model selection computes both once for
// every blend candidate.
absl::StatusOr<FittedModel> Fit(const Interactions& train, const InteractionsModelConfig& config,
                                const GramSpectrum* spectrum = nullptr, int ease_max_products = kEaseMaxProducts,
                                const TruncatedSvd* ease_part = nullptr, double ease_part_rms = -1) {
  FittedModel fitted;
  if (config.factorisation != Factorisation::kPureSvd) {
    const HoldingsMatrix matrix = TransformedMatrix(train, EaseMatrixConfig());
    fitted.total_energy = static_cast<double>(matrix.squaredNorm());
    std::optional<TruncatedSvd> own_ease;
    if (ease_part == nullptr) {
      std::optional<GramSpectrum> own;
      if (spectrum == nullptr) {
        auto computed = ComputeGramSpectrum(matrix, ease_max_products);
        if (!computed.ok()) return computed.status();
        own = *std::move(computed);
        spectrum = &*own;
      }
      auto factors = FactorEase(matrix, *spectrum, config.ease_regularisation, config.rank);
      if (!factors.ok()) return factors.status();
      own_ease = *std::move(factors);
      ease_part = &*own_ease;
    }
    if (config.factorisation == Factorisation::kEase) {
      fitted.svd = own_ease ? *std::move(own_ease) : *ease_part;
      return fitted;
    }
    InteractionsModelConfig svd_part = config;
    svd_part.factorisation = Factorisation::kPureSvd;
    svd_part.binary = true;
    auto svd = ComputeTruncatedSvd(TransformedMatrix(train, svd_part), config.blend_svd_rank);
    if (!svd.ok()) return svd.status();
    auto blend = BlendFactors(matrix, *ease_part, *svd, config.blend_weight, ease_part_rms);
    if (!blend.ok()) return blend.status();
    fitted.svd = *std::move(blend);
    return fitted;
  }
  const HoldingsMatrix matrix = TransformedMatrix(train, config);
  auto svd = ComputeTruncatedSvd(matrix, config.rank);
  if (!svd.ok()) return svd.status();
  fitted.svd = std::move(*svd);
  fitted.total_energy = static_cast<double>(matrix.squaredNorm());
  return fitted;
}

std::string ConfigText(const InteractionsModelConfig& config) {
  if (config.factorisation == Factorisation::kBlend) {
    return absl::StrFormat(
        "EASE + PureSVD: EASE regularisation %g x mean product count, rank %d; PureSVD binary values, popularity "
        "exponent %.2f, activity exponent %.2f, rank %d; weight %g",
        config.ease_regularisation, config.rank, config.popularity_exponent, config.activity_exponent,
        config.blend_svd_rank, config.blend_weight);
  }
  if (config.factorisation == Factorisation::kEase) {
    return absl::StrFormat("EASE, binary values, regularisation %g x mean product count, rank %d",
                           config.ease_regularisation, config.rank);
  }
  return absl::StrFormat("PureSVD, %s values, popularity exponent %.2f, activity exponent %.2f, rank %d",
                         config.binary ? "binary" : "raw", config.popularity_exponent, config.activity_exponent,
                         config.rank);
}

// The randomised SVD's error on `matrix` at each of `ranks` against an
// exact eigendecomposition of its Gram matrix, as summary lines; also
// returns the exact product factors at ranks[0].
struct SvdCheck {
  std::vector<std::pair<std::string, std::string>> lines;
  RowMajorMatrix exact_product_factors;
};

SvdCheck CheckSvdAccuracy(const HoldingsMatrix& matrix, const std::vector<int>& ranks) {
  SvdCheck check;
  const Eigen::SparseMatrix<double, Eigen::ColMajor, int64_t> r = matrix.cast<double>();
  const Eigen::MatrixXd gram = Eigen::MatrixXd(r.transpose() * r);
  const absl::Time start = absl::Now();
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(gram);
  if (solver.info() != Eigen::Success) {
    check.lines.emplace_back("SVD check", "exact eigendecomposition did not converge");
    return check;
  }
  const double exact_seconds = absl::ToDoubleSeconds(absl::Now() - start);
  const Eigen::Index n = gram.rows();
  for (int rank : ranks) {
    const absl::Time randomised_start = absl::Now();
    auto randomised = ComputeTruncatedSvd(matrix, rank);
    if (!randomised.ok()) continue;
    const double randomised_seconds = absl::ToDoubleSeconds(absl::Now() - randomised_start);
    Eigen::MatrixXd exact_v(n, rank);
    double max_relative_error = 0;
    double last_relative_error = 0;
    for (int i = 0; i < rank; ++i) {
      const double exact = std::sqrt(std::max(0.0, solver.eigenvalues()[n - 1 - i]));
      exact_v.col(i) = solver.eigenvectors().col(n - 1 - i);
      const double error =
          exact > 0 ? std::abs(static_cast<double>(randomised->singular_values[i]) - exact) / exact : 0;
      max_relative_error = std::max(max_relative_error, error);
      last_relative_error = error;
    }
    // ||V_exact^T V_randomised||_F^2 / rank: 1 when both span the same space.
    const Eigen::MatrixXd overlap = exact_v.transpose() * randomised->product_factors.cast<double>();
    check.lines.emplace_back(
        absl::StrCat("SVD check at rank ", rank, " (randomised vs exact Gram)"),
        absl::StrFormat("singular values max relative error %.2e (last %.2e), subspace overlap %.6f "
                        "(1 = identical); %.2fs randomised vs %.2fs exact eigendecomposition",
                        max_relative_error, last_relative_error, overlap.squaredNorm() / rank, randomised_seconds,
                        exact_seconds));
    if (check.exact_product_factors.size() == 0) check.exact_product_factors = exact_v.cast<float>();
  }
  return check;
}

double Seconds(absl::Time start) { return absl::ToDoubleSeconds(absl::Now() - start); }

}  // namespace

int NumFactors(const InteractionsModelConfig& config) {
  return config.rank + (config.factorisation == Factorisation::kBlend ? config.blend_svd_rank : 0);
}

absl::StatusOr<Interactions> ReadInteractions(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const std::string message = absl::StrCat(path, ": ", std::strerror(errno));
    return errno == ENOENT ? absl::NotFoundError(message) : absl::InvalidArgumentError(message);
  }
  struct stat info;
  const int64_t file_size = stat(path.c_str(), &info) == 0 ? static_cast<int64_t>(info.st_size) : 0;
  std::optional<ProgressLine> progress;
  if (file_size >= kProgressMinBytes) progress.emplace(absl::StrCat("reading ", path), file_size);

  std::vector<RawInteraction> rows;
  std::vector<std::string> product_ids;
  absl::flat_hash_map<std::string, int32_t> product_index;
  char delimiter = '\0';
  int num_columns = 0;  // Columns a row must or may have, 2..4.
  std::string line;
  int64_t line_number = 0;
  int64_t bytes_read = 0;
  std::vector<absl::string_view> fields;
  while (std::getline(in, line)) {
    ++line_number;
    bytes_read += static_cast<int64_t>(line.size()) + 1;
    if (progress && (line_number & 0xffff) == 0) progress->Update(bytes_read);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (delimiter == '\0') {
      if (line.find('\t') != std::string::npos) {
        delimiter = '\t';
        num_columns = 4;
      } else {
        delimiter = ',';
        const std::vector<absl::string_view> header = absl::StrSplit(line, ',');
        const bool ok = header.size() >= 2 && header.size() <= 4 &&
                        [&header] {
                          for (size_t i = 0; i < header.size(); ++i) {
                            if (header[i] != kColumnNames[i]) return false;
                          }
                          return true;
                        }();
        if (!ok) {
          return absl::InvalidArgumentError(absl::StrCat(
              path, ":1: header is '", absl::CHexEscape(line.substr(0, 80)),
              "', expected 'customer_id,product_id[,value][,timestamp]' (CSV) or tab-separated "
              "'customer_id<TAB>product_id<TAB>value<TAB>timestamp' rows without a header"));
        }
        num_columns = static_cast<int>(header.size());
        continue;
      }
    }
    if (line.empty()) continue;
    fields = absl::StrSplit(line, delimiter);
    if (fields.size() < 2 || static_cast<int>(fields.size()) > num_columns) {
      return absl::InvalidArgumentError(absl::StrCat(path, ":", line_number, ": ", fields.size(),
                                                     " fields, expected 2 to ", num_columns));
    }
    int64_t customer = 0;
    if (!absl::SimpleAtoi(fields[0], &customer) || customer <= 0) {
      return FieldError(path, line_number, 0, fields[0], "not a positive integer");
    }
    if (fields[1].empty()) return FieldError(path, line_number, 1, fields[1], "empty product id");
    double value = 1;
    if (fields.size() >= 3 && !fields[2].empty()) {
      if (!absl::SimpleAtod(fields[2], &value) || !std::isfinite(value) ||
          !std::isfinite(static_cast<float>(value))) {
        return FieldError(path, line_number, 2, fields[2], "not a finite number");
      }
    }
    auto [it, inserted] = product_index.try_emplace(fields[1], static_cast<int32_t>(product_ids.size()));
    if (inserted) {
      if (product_ids.size() >= static_cast<size_t>(INT32_MAX)) {
        return absl::InvalidArgumentError(absl::StrCat(path, ":", line_number, ": more than 2^31 products"));
      }
      product_ids.emplace_back(fields[1]);
    }
    rows.push_back({customer, it->second, static_cast<float>(value)});
  }
  if (in.bad()) return absl::DataLossError(absl::StrCat(path, ": read error"));
  if (progress) {
    progress->Update(file_size);
    progress->Finish();
  }
  if (rows.empty()) return absl::InvalidArgumentError(absl::StrCat(path, ": no interactions"));

  // Renumber the catalogue into its sorted order, then sort the rows; the
  // stable sort keeps file order within a pair so the last row wins.
  const std::vector<int32_t> order = CatalogueOrder(product_ids);
  std::vector<int32_t> new_index(order.size());
  std::vector<std::string> catalogue(order.size());
  for (size_t i = 0; i < order.size(); ++i) {
    new_index[static_cast<size_t>(order[i])] = static_cast<int32_t>(i);
    catalogue[i] = std::move(product_ids[static_cast<size_t>(order[i])]);
  }
  for (RawInteraction& row : rows) row.product = new_index[static_cast<size_t>(row.product)];
  std::stable_sort(rows.begin(), rows.end(), [](const RawInteraction& a, const RawInteraction& b) {
    return a.customer != b.customer ? a.customer < b.customer : a.product < b.product;
  });
  size_t kept = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    const bool last_of_pair = i + 1 == rows.size() || rows[i + 1].customer != rows[i].customer ||
                              rows[i + 1].product != rows[i].product;
    if (last_of_pair) rows[kept++] = rows[i];
  }
  rows.resize(kept);
  return FromSortedRows(rows, std::move(catalogue));
}

InteractionsSplit SplitInteractionsPerCustomer(const Interactions& all, double test_fraction, uint64_t seed) {
  InteractionsSplit split{EmptyLike(all), EmptyLike(all)};
  std::vector<int64_t> positions;
  std::vector<uint8_t> held_out;
  for (int64_t row = 0; row < all.num_customers(); ++row) {
    const int64_t begin = all.indptr[row];
    const int64_t n = all.indptr[row + 1] - begin;
    uint64_t state = seed;
    uint64_t mixed = static_cast<uint64_t>(all.customer_ids[row]) ^ SplitMix64(state);
    state = SplitMix64(mixed);
    positions.resize(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) positions[i] = i;
    // Fisher-Yates with our own generator: the same on every standard library.
    for (int64_t i = n - 1; i > 0; --i) {
      const int64_t j = static_cast<int64_t>(SplitMix64(state) % static_cast<uint64_t>(i + 1));
      std::swap(positions[i], positions[j]);
    }
    const int64_t num_test =
        std::clamp<int64_t>(std::llround(test_fraction * static_cast<double>(n)), 0, std::max<int64_t>(0, n - 1));
    held_out.assign(static_cast<size_t>(n), 0);
    for (int64_t i = 0; i < num_test; ++i) held_out[positions[i]] = 1;
    for (int64_t i = 0; i < n; ++i) {  // Ascending products within each part.
      Interactions& part = held_out[i] ? split.test : split.train;
      part.products.push_back(all.products[begin + i]);
      part.values.push_back(all.values[begin + i]);
    }
    split.train.indptr.push_back(split.train.num_interactions());
    split.test.indptr.push_back(split.test.num_interactions());
  }
  return split;
}

namespace {

// Writes `fit` (trained on `data`) as a new version under `base`; returns
// the version number and the k-means inertia.
absl::StatusOr<std::pair<int64_t, double>> WriteInteractionsVersion(
    const std::string& base, const Interactions& data, FittedModel fit, const InteractionsModelConfig& config,
    const InteractionsTrainerOptions& options, const std::string& data_source, const std::string& created_at,
    const TrainingReport& report) {
  const int num_products = data.num_products();
  const int num_factors = NumFactors(config);
  ModelArrays arrays;
  arrays.customer_ids = data.customer_ids;
  arrays.holdings_indptr = data.indptr;
  arrays.holdings_indices = data.products;
  arrays.customer_factors = std::move(fit.svd.customer_factors);
  arrays.product_factors = std::move(fit.svd.product_factors);
  arrays.singular_values = std::move(fit.svd.singular_values);
  for (double count : ProductCounts(data)) {
    arrays.product_popularity.push_back(static_cast<float>(count / static_cast<double>(data.num_customers())));
  }
  KMeansOptions kmeans_options;
  kmeans_options.num_clusters = options.num_clusters;
  kmeans_options.restarts = options.kmeans_restarts;
  kmeans_options.seed = options.seed;
  auto clusters = RunKMeans(arrays.customer_factors, kmeans_options);
  if (!clusters.ok()) return clusters.status();
  arrays.cluster_centroids = std::move(clusters->centroids);
  arrays.customer_clusters = std::move(clusters->assignments);

  easymoney::model::v1::ModelManifest manifest;
  manifest.set_format_version(kModelFormatVersion);
  manifest.set_created_at(created_at);
  manifest.set_num_customers(static_cast<int32_t>(data.num_customers()));
  manifest.set_num_products(num_products);
  manifest.set_num_factors(num_factors);
  manifest.set_num_clusters(options.num_clusters);
  manifest.set_num_features(num_factors);
  for (const std::string& id : data.product_ids) {
    auto* product = manifest.add_products();
    product->set_id(id);
    product->set_name(id);
    product->set_family("item");
  }
  // The clusters live in the customer-factor space itself, so the features
  // are the factors, unscaled.
  for (int i = 0; i < num_factors; ++i) {
    auto* feature = manifest.add_features();
    feature->set_name(absl::StrCat("factor_", i));
    feature->set_kind("numeric");
    feature->set_mean(0);
    feature->set_stddev(1);
  }
  auto* training = manifest.mutable_training();
  training->set_num_factors(num_factors);
  training->set_num_clusters(options.num_clusters);
  training->set_seed(static_cast<uint32_t>(options.seed));
  training->set_data_source(data_source);
  training->set_selection(ConfigText(config));
  training->set_kmeans_restarts(options.kmeans_restarts);
  training->set_kmeans_inertia(clusters->inertia);
  FillManifestEvaluation(report, manifest.mutable_evaluation());

  if (auto check = Model::FromArrays(1, manifest, arrays); !check.ok()) {
    return absl::InternalError(absl::StrCat("trained model failed validation: ", check.status().message()));
  }
  auto version = WriteModelVersion(base, manifest, arrays);
  if (!version.ok()) return version.status();
  return std::make_pair(*version, clusters->inertia);
}

// customer_id,product_id per interaction, readable by ReadInteractions;
// written to a temporary name and renamed.
absl::Status WriteInteractionsCsv(const std::string& path, const Interactions& test) {
  for (const std::string& id : test.product_ids) {
    // The reader has no quoting: such an id would not read back.
    if (id.find_first_of(",\r\n") != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("product id '", absl::CHexEscape(id.substr(0, 80)),
                                                     "' holds a comma or a line break and cannot be written to ",
                                                     path));
    }
  }
  const std::string temporary = absl::StrCat(path, ".tmp");
  std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
  out << "customer_id,product_id\n";
  for (int64_t row = 0; row < test.num_customers(); ++row) {
    for (int64_t k = test.indptr[row]; k < test.indptr[row + 1]; ++k) {
      out << test.customer_ids[row] << ',' << test.product_ids[static_cast<size_t>(test.products[k])] << '\n';
    }
  }
  out.close();
  std::error_code error;
  // ofstream does not keep the cause; a full or vanished disk is the usual one.
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", temporary, " (disk full or gone?)"));
  std::filesystem::rename(temporary, path, error);
  if (error) return absl::InternalError(absl::StrCat("cannot rename ", temporary, " to ", path, ": ", error.message()));
  return absl::OkStatus();
}

// The best configuration of one factorisation on validation.
struct SelectionBest {
  InteractionsModelConfig config;
  double score = -1;
  std::vector<TrainingReport::RankCandidate> curve;  // Over rank, at the best other settings.
};

}  // namespace

absl::StatusOr<InteractionsTrainingResult> TrainInteractionsModel(const InteractionsTrainerOptions& options) {
  const absl::Time start = absl::Now();
  if (options.k < 1) return absl::InvalidArgumentError(absl::StrCat("k is ", options.k, ", must be positive"));
  if (!(options.test_fraction > 0 && options.test_fraction < 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("test fraction is ", options.test_fraction, ", must be strictly between 0 and 1"));
  }
  if (options.max_factors < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_factors is ", options.max_factors, ", must be 0 (no cap) or positive"));
  }
  for (double weight : options.blend_weights) {
    if (!(weight > 0) || !std::isfinite(weight)) {
      return absl::InvalidArgumentError(absl::StrCat("blend weight ", weight, " must be a positive number"));
    }
  }
  for (double lambda : options.ease_regularisations) {
    if (!(lambda > 0) || !std::isfinite(lambda)) {
      return absl::InvalidArgumentError(absl::StrCat("EASE regularisation ", lambda, " must be a positive number"));
    }
  }
  auto all = ReadInteractions(options.interactions_path);
  if (!all.ok()) return all.status();
  const int num_products = all->num_products();
  if (all->num_customers() < options.num_clusters) {
    return absl::InvalidArgumentError(absl::StrCat(options.interactions_path, " has ", all->num_customers(),
                                                   " customers, fewer than the ", options.num_clusters,
                                                   " clusters asked for"));
  }
  const double read_seconds = Seconds(start);

  // (a), (b): test split, then validation carved out of its training part.
  const InteractionsSplit outer = SplitInteractionsPerCustomer(*all, options.test_fraction, options.seed);
  const InteractionsSplit inner = SplitInteractionsPerCustomer(outer.train, options.test_fraction, options.seed + 1);

  // (c): model selection on validation only.
  const auto candidate_ranks = [&](std::vector<int> ranks) {
    ranks.erase(std::remove_if(ranks.begin(), ranks.end(), [&](int r) { return r < 1 || r > num_products; }),
                ranks.end());
    std::sort(ranks.begin(), ranks.end());
    ranks.erase(std::unique(ranks.begin(), ranks.end()), ranks.end());
    return ranks;
  };
  std::vector<int> ranks = candidate_ranks(
      options.rank_candidates.empty()
          ? std::vector<int>{2, 4, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60, 80, 100, 125, 150, 200}
          : options.rank_candidates);
  if (ranks.empty() && options.try_pure_svd) {
    return absl::InvalidArgumentError(
        absl::StrCat("no SVD rank candidate lies between 1 and the number of products (", num_products, ")"));
  }
  std::vector<double> exponents = options.popularity_exponents;
  if (exponents.empty()) exponents = {0, 0.1, 0.2, 0.3, 0.4, 0.5};
  std::vector<double> activity_exponents = options.activity_exponents;
  if (activity_exponents.empty()) activity_exponents = {0, 0.25, 0.5};
  std::vector<bool> value_modes = {true};
  const bool has_values = std::any_of(all->values.begin(), all->values.end(), [](float v) { return v != 1.0f; });
  if (options.try_raw_values && has_values) value_modes.push_back(false);
  std::vector<double> ease_lambdas = options.ease_regularisations;
  if (ease_lambdas.empty()) ease_lambdas = {1, 2, 4, 8, 12, 16, 24, 32};
  std::vector<int> ease_ranks = candidate_ranks(
      options.ease_ranks.empty() ? std::vector<int>{25, 50, 100, 200, 300, 400, 600, 800} : options.ease_ranks);
  // A small catalogue (easyMoney's 15 products) is factored whole.
  if (ease_ranks.empty() && options.ease_ranks.empty()) ease_ranks = {num_products};
  const std::vector<int> blend_ranks =
      candidate_ranks(options.blend_svd_ranks.empty() ? std::vector<int>{10, 20, 40} : options.blend_svd_ranks);
  std::vector<double> blend_weights = options.blend_weights;
  if (blend_weights.empty()) blend_weights = {0.25, 0.5, 1, 2};
  const bool ease_too_large = num_products > options.ease_max_products;
  // Why EASE cannot be fitted at all, then why each of EASE and the blend
  // is not tried, when it is not.
  const std::string ease_impossible =
      ease_too_large ? absl::StrFormat("%d products, above the limit of %d", num_products, options.ease_max_products)
      : ease_ranks.empty()
          ? absl::StrFormat("no EASE rank candidate lies between 1 and the number of products (%d)", num_products)
          : "";
  const std::string ease_skipped = !options.try_ease ? "not asked for" : ease_impossible;
  const std::string blend_skipped =
      !options.try_blend         ? "not asked for"
      : !ease_impossible.empty() ? absl::StrCat("its EASE part cannot be fitted: ", ease_impossible)
      : blend_ranks.empty()
          ? absl::StrFormat("no blend PureSVD rank candidate lies between 1 and the number of products (%d)",
                            num_products)
          : "";
  const bool try_ease = ease_skipped.empty();
  const bool try_blend = blend_skipped.empty();
  const bool try_svd = options.try_pure_svd;
  if (!try_ease && !try_svd && !try_blend) {
    return absl::InvalidArgumentError(
        options.try_ease || options.try_blend
            ? absl::StrCat("only EASE or the blend was asked for, and neither can be tried: ",
                           options.try_ease ? ease_skipped : blend_skipped)
            : std::string("no factorisation to try: none of PureSVD, EASE and the blend was asked for"));
  }

  TrainingReport report;
  SelectionBest best_svd;
  SelectionBest best_ease;
  best_ease.config.factorisation = Factorisation::kEase;
  SelectionBest best_blend;
  best_blend.config.factorisation = Factorisation::kBlend;
  std::vector<std::pair<std::string, std::string>> grid_lines;
  const int64_t svd_grid_size = try_svd ? static_cast<int64_t>(value_modes.size() * exponents.size() *
                                                              activity_exponents.size() * ranks.size())
                                        : 0;
  const int64_t ease_grid_size =
      try_ease || try_blend ? static_cast<int64_t>(ease_lambdas.size() * ease_ranks.size()) : 0;
  const int64_t blend_grid_size =
      try_blend ? static_cast<int64_t>(exponents.size() * activity_exponents.size() * blend_weights.size() *
                                       blend_ranks.size())
                : 0;
  const int64_t grid_size = svd_grid_size + ease_grid_size + blend_grid_size;
  int64_t num_fitted = 0;  // grid_size less the candidates above max_factors.
  double ease_spectrum_seconds = 0;
  {
    ProgressLine progress("model selection on validation", grid_size);
    int64_t done = 0;
    // PureSVD: every (value transform, popularity exponent, activity
    // exponent), each with the whole rank curve.
    std::vector<InteractionsModelConfig> transforms;
    for (bool binary : try_svd ? value_modes : std::vector<bool>{}) {
      for (double exponent : exponents) {
        for (double activity : activity_exponents) {
          InteractionsModelConfig config;
          config.binary = binary;
          config.popularity_exponent = exponent;
          config.activity_exponent = activity;
          transforms.push_back(config);
        }
      }
    }
    // One configuration over a rank curve (the field `swept`: rank, or the
    // blend's PureSVD rank): every rank fitted on the fit part and scored
    // on validation; `family` keeps its best (strictly better only: ties
    // keep the earlier, smaller candidate). Returns the configuration's
    // own best score and rank.
    struct SweepBest {
      double score = -1;
      int rank = 0;
    };
    const auto sweep = [&](InteractionsModelConfig config, const std::vector<int>& candidate_ranks,
                           int InteractionsModelConfig::*swept, const GramSpectrum* spectrum,
                           const TruncatedSvd* ease_part, double ease_part_rms, SelectionBest& family,
                           std::vector<std::pair<InteractionsModelConfig, double>>* scores =
                               nullptr) -> absl::StatusOr<SweepBest> {
      std::vector<TrainingReport::RankCandidate> curve;
      SweepBest own;
      bool improved = false;
      for (int rank : candidate_ranks) {
        config.*swept = rank;
        if (options.max_factors > 0 && NumFactors(config) > options.max_factors) {
          progress.Update(++done);
          continue;
        }
        ++num_fitted;
        auto fitted = Fit(inner.train, config, spectrum, options.ease_max_products, ease_part, ease_part_rms);
        if (!fitted.ok()) return fitted.status();
        const RankingMetrics metrics = Evaluate(inner.train, inner.test, options.k, &fitted->svd.customer_factors,
                                                &fitted->svd.product_factors, nullptr);
        curve.push_back({rank, metrics.precision});
        if (scores != nullptr) scores->emplace_back(config, metrics.precision);
        if (metrics.precision > own.score) own = {metrics.precision, rank};
        if (metrics.precision > family.score) {
          family.score = metrics.precision;
          family.config = config;
          improved = true;
        }
        progress.Update(++done);
      }
      if (improved) family.curve = std::move(curve);
      return own;
    };
    const std::string none_within_cap = absl::StrFormat("no candidate has at most %d factors", options.max_factors);
    const auto best_line = [&](const SweepBest& own) {
      if (own.score < 0) return none_within_cap;
      return absl::StrFormat("best precision@%d %.4f at rank %d", options.k, own.score, own.rank);
    };
    for (const InteractionsModelConfig& config : transforms) {
      auto own = sweep(config, ranks, &InteractionsModelConfig::rank, nullptr, nullptr, -1, best_svd);
      if (!own.ok()) return own.status();
      grid_lines.emplace_back(absl::StrFormat("validation PureSVD %s values, popularity exponent %.2f, activity "
                                              "exponent %.2f",
                                              config.binary ? "binary" : "raw", config.popularity_exponent,
                                              config.activity_exponent),
                              best_line(*own));
    }
    // EASE: one eigendecomposition of the fit part's Gram matrix serves
    // every regularisation and rank. The blend's EASE part is EASE's best,
    // so EASE is swept for the blend too.
    if (try_ease || try_blend) {
      const absl::Time spectrum_start = absl::Now();
      const HoldingsMatrix binary = TransformedMatrix(inner.train, EaseMatrixConfig());
      auto spectrum = ComputeGramSpectrum(binary, options.ease_max_products);
      if (!spectrum.ok()) return spectrum.status();
      ease_spectrum_seconds = Seconds(spectrum_start);
      std::vector<std::pair<InteractionsModelConfig, double>> ease_scores;
      for (double lambda : ease_lambdas) {
        InteractionsModelConfig config;
        config.factorisation = Factorisation::kEase;
        config.ease_regularisation = lambda;
        auto own = sweep(config, ease_ranks, &InteractionsModelConfig::rank, &*spectrum, nullptr, -1, best_ease,
                         &ease_scores);
        if (!own.ok()) return own.status();
        // Swept for the blend alone, EASE is only the blend's EASE part.
        grid_lines.emplace_back(absl::StrFormat(try_ease ? "validation EASE regularisation %g"
                                                         : "validation EASE (the blend's EASE part) regularisation %g",
                                                lambda),
                                best_line(*own));
      }
      // The blend: EASE's best plus a PureSVD part, one line per weight.
      // Under a factor cap, EASE's best among the ranks that leave room
      // for the smallest PureSVD part (strictly better only, as above).
      std::optional<InteractionsModelConfig> blend_ease;
      double blend_ease_score = -1;
      if (try_blend) {
        for (const auto& [config, score] : ease_scores) {
          if (options.max_factors > 0 && config.rank + blend_ranks.front() > options.max_factors) continue;
          if (score > blend_ease_score) {
            blend_ease_score = score;
            blend_ease = config;
          }
        }
        // No EASE part fits under the cap: the blend's candidates are done.
        if (!blend_ease) progress.Update(done += blend_grid_size);
      }
      if (try_blend && blend_ease) {
        auto ease_part = FactorEase(binary, *spectrum, blend_ease->ease_regularisation, blend_ease->rank);
        if (!ease_part.ok()) return ease_part.status();
        const double ease_part_rms = RmsScore(binary, ease_part->product_factors);
        for (double weight : blend_weights) {
          SweepBest weight_best;
          InteractionsModelConfig weight_best_config;
          for (double exponent : exponents) {
            for (double activity : activity_exponents) {
              InteractionsModelConfig config = *blend_ease;
              config.factorisation = Factorisation::kBlend;
              config.popularity_exponent = exponent;
              config.activity_exponent = activity;
              config.blend_weight = weight;
              auto own =
                  sweep(config, blend_ranks, &InteractionsModelConfig::blend_svd_rank, nullptr, &*ease_part,
                        ease_part_rms, best_blend);
              if (!own.ok()) return own.status();
              if (own->score > weight_best.score) {
                weight_best = *own;
                weight_best_config = config;
              }
            }
          }
          grid_lines.emplace_back(
              absl::StrFormat("validation EASE + PureSVD weight %g", weight),
              weight_best.score < 0
                  ? none_within_cap
                  : absl::StrFormat("best precision@%d %.4f at popularity exponent %.2f, activity exponent %.2f, "
                                    "rank %d",
                                    options.k, weight_best.score, weight_best_config.popularity_exponent,
                                    weight_best_config.activity_exponent, weight_best.rank));
        }
      }
    }
  }
  // The finalists are compared on a second validation split, drawn the
  // same way (seed + 2) but used for nothing else: each finalist's score on
  // the split that tuned it is the maximum over its own grid, and the
  // grids differ tenfold in size, so comparing those maxima would favour
  // the family with more candidates. Strictly better only: a tie keeps the
  // model with fewer factors (cheaper to serve), then the earlier family.
  struct Finalist {
    const char* name;
    bool tried;
    const SelectionBest* best;
    std::string why_not;
    double confirmation = -1;
  };
  std::vector<Finalist> finalists = {{"PureSVD", try_svd, &best_svd, "not asked for"},
                                     {"EASE", try_ease, &best_ease, ease_skipped},
                                     {"EASE + PureSVD", try_blend, &best_blend, blend_skipped}};
  int num_tried = 0;
  for (Finalist& finalist : finalists) {
    if (finalist.tried && finalist.best->score < 0) {  // Every candidate above the cap.
      finalist.tried = false;
      finalist.why_not = absl::StrFormat("no candidate has at most %d factors (max_factors)", options.max_factors);
    }
    num_tried += finalist.tried ? 1 : 0;
  }
  if (num_tried == 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "no candidate of any factorisation has at most %d factors (max_factors)", options.max_factors));
  }
  const bool need_spectrum = finalists[1].tried || finalists[2].tried;
  if (num_tried > 1) {
    const InteractionsSplit confirm =
        SplitInteractionsPerCustomer(outer.train, options.test_fraction, options.seed + 2);
    std::optional<GramSpectrum> confirm_spectrum;
    if (need_spectrum) {
      auto spectrum =
          ComputeGramSpectrum(TransformedMatrix(confirm.train, EaseMatrixConfig()), options.ease_max_products);
      if (!spectrum.ok()) return spectrum.status();
      confirm_spectrum = *std::move(spectrum);
    }
    for (Finalist& finalist : finalists) {
      if (!finalist.tried) continue;
      auto fitted = Fit(confirm.train, finalist.best->config,
                        confirm_spectrum ? &*confirm_spectrum : nullptr, options.ease_max_products);
      if (!fitted.ok()) return fitted.status();
      finalist.confirmation = Evaluate(confirm.train, confirm.test, options.k, &fitted->svd.customer_factors,
                                       &fitted->svd.product_factors, nullptr)
                                  .precision;
    }
  }
  int chosen_index = -1;
  for (int i = 0; i < static_cast<int>(finalists.size()); ++i) {
    if (!finalists[i].tried) continue;
    if (chosen_index < 0) {
      chosen_index = i;
      continue;
    }
    const Finalist& incumbent = finalists[static_cast<size_t>(chosen_index)];
    const bool better = finalists[i].confirmation > incumbent.confirmation ||
                        (finalists[i].confirmation == incumbent.confirmation &&
                         NumFactors(finalists[i].best->config) < NumFactors(incumbent.best->config));
    if (better) chosen_index = i;
  }
  const SelectionBest& chosen = *finalists[chosen_index].best;
  const InteractionsModelConfig best = chosen.config;
  const bool blend_chosen = best.factorisation == Factorisation::kBlend;
  const double selection_seconds = Seconds(start) - read_seconds;
  report.rank_curve = chosen.curve;
  report.chosen_rank = blend_chosen ? best.blend_svd_rank : best.rank;
  std::string confirmation_text;
  if (num_tried > 1) {
    std::vector<std::string> scores;
    for (const Finalist& finalist : finalists) {
      if (finalist.tried) scores.push_back(absl::StrFormat("%s %.4f", finalist.name, finalist.confirmation));
    }
    confirmation_text = absl::StrFormat(", then the finalists compared on a second validation split (seed %d): %s",
                                        static_cast<long long>(options.seed + 2), absl::StrJoin(scores, ", "));
  }
  report.rank_metric = absl::StrFormat(
      "precision@%d on validation (%.0f%% of each customer's training interactions held out, seed %d; "
      "the test split is not used). Each factorisation's best over its grid (%lld candidates fitted in all; PureSVD: "
      "value transform x popularity exponent x activity exponent x rank; EASE: regularisation x rank; EASE + "
      "PureSVD: EASE's best plus a PureSVD part, popularity exponent x activity exponent x rank x weight)%s. "
      "Chosen: %s (validation precision@%d %.4f); the curve is over %s for its other settings",
      options.k, 100 * options.test_fraction, static_cast<long long>(options.seed + 1),
      static_cast<long long>(num_fitted), confirmation_text, ConfigText(best), options.k, chosen.score,
      blend_chosen ? "its PureSVD part's rank" : "rank");

  // (d): refit each factorisation's best on the whole training part; test
  // metrics of the chosen model, the others and the baseline.
  report.protocol = absl::StrFormat(
      "per-customer random split (seed %llu): round(%.0f%%) of each customer's interactions held out for test "
      "(at least one kept for training); top-%d lists exclude products seen in training; metrics over "
      "customers with held-out interactions; MAP (full normaliser) divides each AP by the number of held-out "
      "interactions",
      static_cast<unsigned long long>(options.seed), 100 * options.test_fraction, options.k);
  std::optional<GramSpectrum> train_spectrum;
  if (need_spectrum) {
    auto spectrum = ComputeGramSpectrum(TransformedMatrix(outer.train, EaseMatrixConfig()), options.ease_max_products);
    if (!spectrum.ok()) return spectrum.status();
    train_spectrum = *std::move(spectrum);
  }
  // Only the chosen fit is kept: it may be written as the evaluation version.
  std::optional<FittedModel> test_fit;
  std::vector<RankingMetrics> test_results(finalists.size());
  for (size_t i = 0; i < finalists.size(); ++i) {
    if (!finalists[i].tried) continue;
    auto fitted = Fit(outer.train, finalists[i].best->config, train_spectrum ? &*train_spectrum : nullptr,
                      options.ease_max_products);
    if (!fitted.ok()) return fitted.status();
    test_results[i] = Evaluate(outer.train, outer.test, options.k, &fitted->svd.customer_factors,
                               &fitted->svd.product_factors, nullptr);
    if (static_cast<int>(i) == chosen_index) test_fit = *std::move(fitted);
  }
  train_spectrum.reset();
  const RankingMetrics svd_test = test_results[0];
  report.methods.emplace_back(absl::StrCat("model (", ConfigText(best), ")"),
                              test_results[static_cast<size_t>(chosen_index)]);
  std::vector<float> popularity_scores;
  for (double count : ProductCounts(outer.train)) popularity_scores.push_back(static_cast<float>(count));
  report.methods.emplace_back("popularity",
                              Evaluate(outer.train, outer.test, options.k, nullptr, nullptr, &popularity_scores));
  // Each factorisation's entry: its finalist's figures, or why it was not tried.
  for (size_t i = 0; i < finalists.size(); ++i) {
    const Finalist& finalist = finalists[i];
    TrainingReport::Factorisation f;
    f.name = finalist.name;
    if (!finalist.tried) {
      f.configuration = absl::StrCat("not tried: ", finalist.why_not);
    } else {
      f.configuration = ConfigText(finalist.best->config);
      f.tried = true;
      f.validation_score = finalist.best->score;
      f.confirmation_score = finalist.confirmation;
      f.tested = true;
      f.test = test_results[i];
      f.chosen = static_cast<int>(i) == chosen_index;
    }
    report.factorisations.push_back(std::move(f));
  }
  if (!ease_impossible.empty() && (options.try_ease || options.try_blend)) {
    grid_lines.emplace_back("EASE", absl::StrCat("not tried: ", ease_impossible,
                                                 ease_too_large ? " (its Gram matrix and eigenvectors are dense "
                                                                  "products x products)"
                                                                : ""));
  }
  // PureSVD's randomised SVD against an exact decomposition.
  std::vector<std::pair<std::string, std::string>> check_lines;
  if (finalists[0].tried && num_products <= options.svd_check_max_products) {
    const HoldingsMatrix train_matrix = TransformedMatrix(outer.train, best_svd.config);
    SvdCheck check = CheckSvdAccuracy(train_matrix, {best_svd.config.rank, ranks.back()});
    check_lines = std::move(check.lines);
    if (check.exact_product_factors.size() > 0) {
      const RowMajorMatrix exact_customer_factors = train_matrix * check.exact_product_factors;
      const RankingMetrics exact = Evaluate(outer.train, outer.test, options.k, &exact_customer_factors,
                                            &check.exact_product_factors, nullptr);
      check_lines.emplace_back(
          "SVD check, PureSVD test metrics with exact factors",
          absl::StrFormat("precision@%d %.4f, nDCG@%d %.4f, MAP %.4f (randomised: %.4f, %.4f, %.4f)", options.k,
                          exact.precision, options.k, exact.ndcg, exact.map_full_normaliser, svd_test.precision,
                          svd_test.ndcg, svd_test.map_full_normaliser));
    }
  }
  const double test_seconds = Seconds(start) - read_seconds - selection_seconds;
  const std::string created_at = absl::FormatTime(absl::RFC3339_sec, absl::Now(), absl::UTCTimeZone());
  const std::string source = std::filesystem::absolute(options.interactions_path).string();

  InteractionsTrainingResult result;
  // The test fit as a version of its own, to be scored through a server.
  if (!options.evaluation_model_base.empty()) {
    auto written = WriteInteractionsVersion(
        options.evaluation_model_base, outer.train, *std::move(test_fit), best, options,
        absl::StrCat("interactions ", source, ", training part of the test split (seed ", options.seed, "); ",
                     ConfigText(best)),
        created_at, report);
    if (!written.ok()) return written.status();
    result.evaluation_version = written->first;
    const std::filesystem::path base(options.evaluation_model_base);
    if (auto s = WriteInteractionsCsv((base / "test_interactions.csv").string(), outer.test); !s.ok()) return s;
    if (auto s = WriteInteractionsCsv((base / "train_interactions.csv").string(), outer.train); !s.ok()) return s;
  }

  // (e): the served model, fitted on every interaction.
  const absl::Time final_start = absl::Now();
  auto final_fit = Fit(*all, best, nullptr, options.ease_max_products);
  if (!final_fit.ok()) return final_fit.status();
  const double kept_energy = static_cast<double>(final_fit->svd.customer_factors.squaredNorm());
  const double total_energy = final_fit->total_energy;
  auto written = WriteInteractionsVersion(options.model_base, *all, *std::move(final_fit), best, options,
                                          absl::StrCat("interactions ", source, "; ", ConfigText(best)),
                                          created_at, report);
  if (!written.ok()) return written.status();
  const double final_seconds = Seconds(final_start);

  result.version = written->first;
  result.version_dir = (std::filesystem::path(options.model_base) / std::to_string(written->first)).string();
  result.config = best;
  report.title = absl::StrCat("interactions model version ", written->first);
  report.created_at = created_at;
  report.chosen_k = options.num_clusters;
  auto& summary = report.summary;
  summary.emplace_back("data source", source);
  summary.emplace_back("interactions", absl::StrFormat("%lld (%lld customers x %d products, values %s)",
                                                       static_cast<long long>(all->num_interactions()),
                                                       static_cast<long long>(all->num_customers()), num_products,
                                                       has_values ? "vary" : "all 1"));
  summary.emplace_back("split", absl::StrFormat("train %lld / test %lld; inside train: fit %lld / validation %lld",
                                                static_cast<long long>(outer.train.num_interactions()),
                                                static_cast<long long>(outer.test.num_interactions()),
                                                static_cast<long long>(inner.train.num_interactions()),
                                                static_cast<long long>(inner.test.num_interactions())));
  summary.emplace_back("chosen on validation", ConfigText(best));
  for (auto& line : grid_lines) summary.push_back(std::move(line));
  for (auto& line : check_lines) summary.push_back(std::move(line));
  summary.emplace_back(
      "served model",
      absl::StrFormat("fitted on all interactions; %s; ||customer factors||^2 / ||input||^2 = %.3f; "
                      "k-means k=%d over customer factors, inertia %.4g",
                      ConfigText(best), total_energy > 0 ? kept_energy / total_energy : 0, options.num_clusters,
                      written->second));
  if (result.evaluation_version > 0) {
    summary.emplace_back("evaluation version",
                         absl::StrFormat("%s/%lld (fitted on the training part); %s/{test,train}_interactions.csv",
                                         options.evaluation_model_base,
                                         static_cast<long long>(result.evaluation_version),
                                         options.evaluation_model_base));
  }
  summary.emplace_back(
      "timings", absl::StrFormat("read %.2fs, model selection %.2fs (EASE eigendecomposition %.2fs), test "
                                 "evaluation %.2fs, served fit and write %.2fs, total %.2fs",
                                 read_seconds, selection_seconds, ease_spectrum_seconds, test_seconds,
                                 final_seconds, Seconds(start)));
  result.report = std::move(report);
  return result;
}

std::string FormatInteractionsReport(const InteractionsTrainingResult& result) {
  const TrainingReport& report = result.report;
  std::string out = absl::StrCat(report.title, " written to ", result.version_dir, "\n");
  for (const auto& [key, value] : report.summary) absl::StrAppend(&out, "  ", key, ": ", value, "\n");
  absl::StrAppend(&out, "\nvalidation curve: ", report.rank_metric, "\n");
  for (const auto& candidate : report.rank_curve) {
    absl::StrAppendFormat(&out, "  rank %4d  %.4f%s\n", candidate.rank, candidate.validation_score,
                          candidate.rank == report.chosen_rank ? "  <- chosen" : "");
  }
  absl::StrAppend(&out, "\ntest: ", report.protocol, "\n");
  const int k = report.methods.empty() ? 0 : report.methods[0].second.k;
  int width = 6;
  for (const auto& method : report.methods) width = std::max(width, static_cast<int>(method.first.size()));
  absl::StrAppendFormat(&out, "  %-*s %8s %8s %8s %8s %8s %8s\n", width, "method", "MAP", absl::StrCat("nDCG@", k),
                        absl::StrCat("P@", k), absl::StrCat("R@", k), "hit", "coverage");
  for (const auto& [name, m] : report.methods) {
    absl::StrAppendFormat(&out, "  %-*s %8.4f %8.4f %8.4f %8.4f %8.4f %8.4f\n", width, name, m.map_full_normaliser,
                          m.ndcg, m.precision, m.recall, m.hit_rate, m.coverage);
  }
  absl::StrAppendFormat(&out, "  (%lld customers evaluated; MAP = mean AP normalised by the held-out count)\n",
                        static_cast<long long>(report.methods.empty() ? 0 : report.methods[0].second.relevant_customers));
  absl::StrAppend(&out, "\n", FormatFactorisations(report));
  return out;
}

}  // namespace easymoney
