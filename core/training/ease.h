#ifndef EASYMONEY_CORE_TRAINING_EASE_H_
#define EASYMONEY_CORE_TRAINING_EASE_H_

#include <cstdint>

#include <Eigen/Dense>

#include "absl/status/statusor.h"
#include "core/model/matrix.h"
#include "core/training/svd.h"

namespace easymoney {

// EASE (Steck, "Embarrassingly Shallow Autoencoders for Sparse Data",
// WWW 2019) in a form the server's dot-product scoring and fold-in serve
// unchanged.
//
// EASE's item-item weights come from the regularised precision matrix
// P = (G + lambda I)^-1 of the Gram matrix G = X^T X: B_ij = -P_ij / P_jj.
// We use its symmetric sibling, the regularised partial correlations
//   K_ij = -P_ij / sqrt(P_ii P_jj)            (i != j),
// which differ from B only in how the column scale 1/P_jj is split between
// the two items. Symmetry is what the serving format needs: with
// G = V diag(s) V^T, S = V diag(s / (s + lambda)) V^T = I - lambda P and
// c_j = 1 / (1 - S_jj),
//   K = C^1/2 S C^1/2 - diag(C^1/2 S C^1/2),  and  C^1/2 S C^1/2 = Q Q^T
//   with Q = C^1/2 V diag(sqrt(s / (s + lambda))).
// Q Q^T equals K off the diagonal; its diagonal only scores products the
// customer holds, which are never recommended. So product_factors = Q
// (truncated to the leading `rank` columns) and customer_factors = X Q: a
// customer's factors are the sum of the product factors of what it holds,
// which is exactly how the server folds in a caller's current holdings. EASE's own B = I - P diag(1/P_jj) is not
// symmetric; factoring it (X U_r S_r and V_r) would serve the known
// customers fine but fold in wrongly. Model selection on validation data
// chooses between this and PureSVD (docs/evaluation-movielens.md).
//
// Cost: G and its eigenvectors are dense products x products doubles, about
// 3 x 8 x P^2 bytes with the solver's workspace, and the eigendecomposition
// is O(P^3) on one core: 1,682 products take about 3 s, 4,000 products 46 s
// (docs/evaluation-movielens.md). One decomposition serves every
// (regularisation, rank) candidate. ComputeGramSpectrum refuses catalogues
// above its max_products (kEaseMaxProducts by default).
inline constexpr int kEaseMaxProducts = 4000;

// The eigendecomposition of X^T X, eigenvalues descending.
struct GramSpectrum {
  Eigen::VectorXd eigenvalues;   // products, descending, clamped at 0.
  Eigen::MatrixXd eigenvectors;  // products x products, column k for eigenvalue k.
  // trace(G) / products: the regularisation is given relative to it, so one
  // setting means the same on a validation part and on all the data.
  double mean_diagonal = 0;
};

// Errors: INVALID_ARGUMENT when the catalogue has more than max_products
// products (the message says how many and the limit), INTERNAL when the
// eigensolver does not converge.
absl::StatusOr<GramSpectrum> ComputeGramSpectrum(const HoldingsMatrix& matrix, int max_products = kEaseMaxProducts);

// The factors of the symmetric EASE model with lambda = relative_lambda x
// spectrum.mean_diagonal, truncated to `rank` factors: product_factors = Q,
// customer_factors = matrix x Q, singular_values = the shrunk eigenvalues
// s / (s + lambda) in [0, 1), descending (0 where s is: products nobody
// holds, ranks beyond X's). They are not singular values of anything; the
// field keeps the format's meaning "importance of each factor".
// `matrix` must be the one the spectrum was computed from.
// Errors: INVALID_ARGUMENT for rank outside [1, products], a relative_lambda
// that is not positive, or a matrix whose product count differs from the
// spectrum's.
absl::StatusOr<TruncatedSvd> FactorEase(const HoldingsMatrix& matrix, const GramSpectrum& spectrum,
                                        double relative_lambda, int rank);

}  // namespace easymoney

#endif  // EASYMONEY_CORE_TRAINING_EASE_H_
