#include "core/svd.h"

#include <Eigen/Eigenvalues>
#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace easymoney {
namespace {

constexpr int64_t kMaxGramProducts = 8192;

}  // namespace

absl::StatusOr<TruncatedSvd> ComputeTruncatedSvd(const HoldingsMatrix& matrix, int rank) {
  const int64_t num_products = matrix.cols();
  if (rank < 1 || rank > num_products) {
    return absl::InvalidArgumentError(
        absl::StrCat("SVD rank ", rank, " must be between 1 and the number of products (",
                     num_products, ")"));
  }
  if (num_products > kMaxGramProducts) {
    return absl::InvalidArgumentError(absl::StrCat(
        "catalogue of ", num_products, " products exceeds the Gram-matrix SVD limit of ",
        kMaxGramProducts));
  }

  // Accumulate R^T R row by row so the customer dimension is never densified.
  Eigen::MatrixXd gram = Eigen::MatrixXd::Zero(num_products, num_products);
  for (int64_t row = 0; row < matrix.outerSize(); ++row) {
    for (HoldingsMatrix::InnerIterator a(matrix, row); a; ++a) {
      for (HoldingsMatrix::InnerIterator b(matrix, row); b; ++b) {
        gram(a.col(), b.col()) += static_cast<double>(a.value()) * b.value();
      }
    }
  }

  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(gram);
  if (solver.info() != Eigen::Success) {
    return absl::InternalError("eigendecomposition of the Gram matrix did not converge");
  }
  // Eigen sorts eigenvalues ascending; the largest `rank` are at the end.
  TruncatedSvd svd;
  svd.singular_values.resize(rank);
  svd.product_factors.resize(num_products, rank);
  for (int k = 0; k < rank; ++k) {
    const int64_t source = num_products - 1 - k;
    svd.singular_values[k] =
        static_cast<float>(std::sqrt(std::max(0.0, solver.eigenvalues()[source])));
    Eigen::VectorXd column = solver.eigenvectors().col(source);
    // Fix each vector's sign (largest entry positive) so the same data always
    // gives the same factors.
    Eigen::Index largest = 0;
    column.cwiseAbs().maxCoeff(&largest);
    if (column[largest] < 0) column = -column;
    svd.product_factors.col(k) = column.cast<float>();
  }
  svd.customer_factors = matrix * svd.product_factors;
  return svd;
}

}  // namespace easymoney
