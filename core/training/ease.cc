#include "core/training/ease.h"

#include <Eigen/Eigenvalues>
#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace easymoney {

absl::StatusOr<GramSpectrum> ComputeGramSpectrum(const HoldingsMatrix& matrix, int max_products) {
  const int64_t num_products = matrix.cols();
  if (num_products > max_products) {
    return absl::InvalidArgumentError(
        absl::StrCat("EASE needs a dense ", num_products, " x ", num_products,
                     " Gram matrix and its eigendecomposition; the limit is ", max_products, " products"));
  }
  const Eigen::MatrixXd gram = GramMatrix(matrix);
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(gram);
  if (solver.info() != Eigen::Success) {
    return absl::InternalError("eigendecomposition of the Gram matrix did not converge");
  }
  GramSpectrum spectrum;
  // Eigen sorts ascending; reversed here so rank r is the leading r columns.
  spectrum.eigenvalues = solver.eigenvalues().reverse().cwiseMax(0.0);
  spectrum.eigenvectors = solver.eigenvectors().rowwise().reverse();
  spectrum.mean_diagonal = num_products > 0 ? gram.trace() / static_cast<double>(num_products) : 0;
  return spectrum;
}

absl::StatusOr<TruncatedSvd> FactorEase(const HoldingsMatrix& matrix, const GramSpectrum& spectrum,
                                        double relative_lambda, int rank) {
  const int64_t num_products = spectrum.eigenvalues.size();
  if (rank < 1 || rank > num_products) {
    return absl::InvalidArgumentError(absl::StrCat("EASE rank ", rank, " is outside [1, ", num_products, "]"));
  }
  if (!(relative_lambda > 0) || !std::isfinite(relative_lambda)) {
    return absl::InvalidArgumentError(
        absl::StrCat("EASE regularisation ", relative_lambda, " must be a positive number"));
  }
  if (matrix.cols() != num_products) {
    return absl::InvalidArgumentError(absl::StrCat("the matrix has ", matrix.cols(), " products, the spectrum ",
                                                   num_products));
  }
  // A catalogue nobody holds has a zero Gram matrix: any lambda is fine then.
  const double lambda = relative_lambda * std::max(spectrum.mean_diagonal, 1e-12);
  const Eigen::ArrayXd shrink = spectrum.eigenvalues.array() / (spectrum.eigenvalues.array() + lambda);
  // diag(S) over the full spectrum: the column scale is EASE's 1/P_jj up to
  // lambda, whatever the truncation keeps.
  // Column by column: squaring the eigenvectors in one expression would
  // allocate another products x products matrix.
  Eigen::VectorXd s_diagonal = Eigen::VectorXd::Zero(num_products);
  for (int64_t k = 0; k < num_products; ++k) {
    s_diagonal += shrink[k] * spectrum.eigenvectors.col(k).cwiseAbs2();
  }
  const Eigen::ArrayXd row_scale = (1.0 - s_diagonal.array()).max(1e-12).rsqrt();
  const Eigen::MatrixXd q = row_scale.matrix().asDiagonal() * spectrum.eigenvectors.leftCols(rank) *
                            shrink.head(rank).sqrt().matrix().asDiagonal();
  TruncatedSvd factors;
  factors.product_factors = q.cast<float>();
  factors.customer_factors = matrix * factors.product_factors;
  factors.singular_values = shrink.head(rank).cast<float>().matrix();
  return factors;
}

}  // namespace easymoney
