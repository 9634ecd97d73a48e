#ifndef EASYMONEY_CORE_TRAINING_INTERACTIONS_H_
#define EASYMONEY_CORE_TRAINING_INTERACTIONS_H_

// The second training input: a generic customer x product interaction log
// (purchases, clicks, ratings) for catalogues other than easyMoney, and the
// trainer that turns one into a model version with an honest, validated
// estimate of its ranking quality.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/training/ease.h"
#include "core/training/training_report.h"

namespace easymoney {

// A customer x product interaction matrix in CSR form, one value per
// (customer, product) pair.
//
//   auto log = ReadInteractions("u.data");
//   for (int64_t row = 0; row < log->num_customers(); ++row)
//     for (int64_t k = log->indptr[row]; k < log->indptr[row + 1]; ++k)
//       Use(log->customer_ids[row], log->product_ids[log->products[k]], log->values[k]);
//
// Invariants: customer_ids positive and strictly ascending; product_ids
// unique and non-empty; indptr has num_customers() + 1 entries starting at 0
// and never decreasing; products within a row strictly ascending and within
// the catalogue; values finite. A split keeps the catalogue and the customer
// list of its source, so rows may be empty. Thread-compatible (plain data).
struct Interactions {
  std::vector<int64_t> customer_ids;
  // The catalogue: numeric order when every id is a decimal integer (as in
  // MovieLens), byte order otherwise, so the order never depends on the
  // order of the file's rows.
  std::vector<std::string> product_ids;
  std::vector<int64_t> indptr;
  std::vector<int32_t> products;
  std::vector<float> values;

  int64_t num_customers() const { return static_cast<int64_t>(customer_ids.size()); }
  int num_products() const { return static_cast<int>(product_ids.size()); }
  int64_t num_interactions() const { return static_cast<int64_t>(products.size()); }
};

// Reads an interaction log. Two layouts, told apart by the first line:
//  * CSV with the header `customer_id,product_id[,value][,timestamp]`;
//  * tab-separated without a header, `customer_id product_id value
//    timestamp` (MovieLens' u.data); the value and timestamp may be absent.
// customer_id must be a positive integer, product_id non-empty, value (1
// when absent) a finite number; the timestamp is not used. When a
// (customer, product) pair appears more than once the last row wins. Blank
// lines are skipped, "\r\n" accepted. Files over 16 MiB report progress on
// stderr. Errors: NOT_FOUND for a missing file, INVALID_ARGUMENT naming
// file:line, column and value, e.g.
// "u.data:17: column 1 'customer_id' value 'x': not a positive integer".
absl::StatusOr<Interactions> ReadInteractions(const std::string& path);

// Splits every customer's interactions at random into a training part and a
// held-out part of round(test_fraction * n) products, at most n - 1 so each
// customer keeps at least one training product (a customer with one
// interaction keeps it). Each customer's shuffle is seeded from `seed` and
// the customer id alone, so the split does not depend on the other rows.
// Both parts keep `all`'s catalogue and customer list.
struct InteractionsSplit {
  Interactions train;
  Interactions test;
};
InteractionsSplit SplitInteractionsPerCustomer(const Interactions& all, double test_fraction,
                                               uint64_t seed);

// Which factorisation makes the customer and product factors.
enum class Factorisation {
  kPureSvd,  // Truncated SVD of the transformed matrix R' (below).
  kEase,     // Symmetric EASE on the binary matrix (core/training/ease.h).
  // EASE plus a low-rank PureSVD part, their scores weighted and summed
  // (core/training/blend.h).
  kBlend,
};

// How the interaction matrix is turned into factors. PureSVD uses binary,
// the two exponents and rank; EASE uses ease_regularisation and rank on
// binary interactions. The blend's EASE part uses ease_regularisation and
// rank, its PureSVD part binary interactions, the two exponents and
// blend_svd_rank, and blend_weight weighs the parts; it has rank +
// blend_svd_rank factors.
struct InteractionsModelConfig {
  Factorisation factorisation = Factorisation::kPureSvd;
  bool binary = true;  // Every interaction counts 1, else its value.
  // Column j of R is scaled by popularity_j^-popularity_exponent (popularity
  // = training customers with an interaction), damping the popular items
  // that otherwise dominate the leading singular vectors.
  double popularity_exponent = 0;
  // Row u is scaled by interactions_u^-activity_exponent, so heavy users
  // weigh less in the factors; a customer's own ranking is unchanged by it.
  double activity_exponent = 0;
  int rank = 10;
  // EASE's lambda relative to the mean diagonal of the Gram matrix
  // (the mean number of customers per product).
  double ease_regularisation = 0;
  int blend_svd_rank = 0;
  // The PureSVD part's weight relative to the EASE part's (blend.h).
  double blend_weight = 0;
};

// The model's factor count: rank, plus blend_svd_rank for the blend.
int NumFactors(const InteractionsModelConfig& config);

struct InteractionsTrainerOptions {
  std::string interactions_path;
  std::string model_base;  // The new version goes to model_base/<next>/.
  int k = 10;              // Length of the evaluated top-k lists.
  double test_fraction = 0.25;
  uint64_t seed = 42;
  // SVD ranks tried on validation; empty = a default grid from 2 to 200
  // (capped at the catalogue size).
  std::vector<int> rank_candidates;
  // Column-scaling exponents tried on validation (see
  // InteractionsModelConfig); empty = {0, 0.1, ..., 0.5}.
  std::vector<double> popularity_exponents;
  // Row-scaling exponents tried on validation; empty = {0, 0.25, 0.5}.
  std::vector<double> activity_exponents;
  // Value transforms tried on validation: binary and, when the log has
  // values other than 1, the raw values.
  bool try_raw_values = true;
  // EASE candidates tried on validation: regularisations (relative, see
  // InteractionsModelConfig; empty = {1, 2, 4, 8, 12, 16, 24, 32}) x ranks
  // (empty = {25, 50, 100, 200, 300, 400, 600, 800}, capped at the
  // catalogue size). EASE is not tried above ease_max_products products:
  // its Gram matrix and eigenvectors are dense products x products.
  // The factorisations model selection chooses among (all three by default).
  bool try_pure_svd = true;
  bool try_ease = true;
  bool try_blend = true;
  std::vector<double> ease_regularisations;
  std::vector<int> ease_ranks;
  int ease_max_products = kEaseMaxProducts;
  // Blend candidates: EASE's best (under max_factors, the best EASE
  // candidate that leaves room for the smallest PureSVD part) plus a
  // PureSVD part on binary values, over every (popularity exponent,
  // activity exponent) above x blend_svd_ranks (empty = {10, 20, 40};
  // ranks above the catalogue size are dropped) x blend_weights (empty =
  // {0.25, 0.5, 1, 2}; each positive). The blend needs EASE's spectrum, so it has EASE's catalogue
  // limit; it is tried whether or not EASE itself is.
  std::vector<int> blend_svd_ranks;
  std::vector<double> blend_weights;
  // Candidates with more factors than this (NumFactors) are not tried; 0:
  // no cap. A served answer costs factors x products multiply-adds, so this
  // bounds latency where validation alone would pick hundreds of factors.
  // A factorisation with no candidate under the cap is reported as not
  // tried; with none in any, training fails with INVALID_ARGUMENT.
  int max_factors = 0;
  // When set, the chosen configuration refitted on the training part (the
  // one the test figures come from) is also written as a version under
  // this directory, with the held-out part and the training part beside
  // it as test_interactions.csv and train_interactions.csv
  // (customer_id,product_id): a server on that directory scored against
  // the held-out file must reproduce the test figures
  // (recommender-evaluate, scripts/bench-movielens).
  std::string evaluation_model_base;
  int num_clusters = 8;
  int kmeans_restarts = 4;
  // Also decompose the final training matrix exactly (Gram eigensolver) to
  // measure the randomised SVD's error; skipped above this many products.
  int svd_check_max_products = 4000;
};

struct InteractionsTrainingResult {
  int64_t version = 0;
  std::string version_dir;
  InteractionsModelConfig config;  // Chosen on validation.
  TrainingReport report;
  // The version written under options.evaluation_model_base (0: none).
  int64_t evaluation_version = 0;
};

// Trains a factor model on an interaction log and writes a model version:
//  1. splits each customer's interactions test_fraction : rest (seed);
//  2. splits the rest again the same way into fit and validation (seed + 1);
//  3. picks the factorisation and its hyper-parameters by precision@k on
//     validation (the test part is not looked at): PureSVD's value
//     transform, two exponents and rank, EASE's regularisation and rank,
//     the blend's PureSVD part and weight (its EASE part is EASE's best,
//     under max_factors the best that leaves room for the PureSVD part);
//     the finalists are compared on a second validation split (seed + 2),
//     a tie going to the one with fewer factors;
//  4. refits each factorisation's best on the whole training part and
//     measures it and a popularity baseline on the test part, items seen in
//     training excluded (the chosen one is the model; the others are
//     reported beside it);
//  5. refits the chosen one on every interaction and writes the version.
//     PureSVD: customer_factors = R' V, product_factors = V (R' the
//     transformed matrix, V its top right singular vectors). EASE:
//     product_factors = Q, customer_factors = X Q (ease.h). Blend: the
//     two parts' product factors side by side, customer_factors = X times
//     them (blend.h). Either way the
//     served scores are the evaluated ones; k-means over the customer
//     factors with features factor_0.. (mean 0, stddev 1);
//     product_popularity = share of customers.
// Thread-compatible. Errors from reading or writing pass through unchanged.
absl::StatusOr<InteractionsTrainingResult> TrainInteractionsModel(
    const InteractionsTrainerOptions& options);

// Monospace text for stdout: the summary lines, the validation curve of the
// chosen configuration, and the test metrics of the model and the baseline.
std::string FormatInteractionsReport(const InteractionsTrainingResult& result);

}  // namespace easymoney

#endif  // EASYMONEY_CORE_TRAINING_INTERACTIONS_H_
