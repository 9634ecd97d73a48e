#include "core/training/svd.h"

#include <Eigen/Eigenvalues>
#include <Eigen/QR>
#include <Eigen/SVD>
#include <algorithm>
#include <cmath>
#include <random>

#include "absl/strings/str_cat.h"

namespace easymoney {
namespace {

// Above this many products the O(P^3) Gram eigendecomposition gives way to
// a randomised SVD whose cost grows linearly in the non-zeros.
constexpr int64_t kMaxGramProducts = 512;

// Makes each factor's sign deterministic (largest entry positive) so the
// same data always gives the same factors.
void FixSign(Eigen::Ref<Eigen::VectorXd> column) {
  Eigen::Index largest = 0;
  column.cwiseAbs().maxCoeff(&largest);
  if (column[largest] < 0) column = -column;
}

absl::StatusOr<TruncatedSvd> GramSvd(const HoldingsMatrix& matrix, int rank) {
  const int64_t num_products = matrix.cols();
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(GramMatrix(matrix));
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
    FixSign(column);
    svd.product_factors.col(k) = column.cast<float>();
  }
  return svd;
}

// Halko, Martinsson & Tropp (2011), algorithm 4.4 with power iterations: a
// random projection captures the dominant column space of R, and the small
// projected matrix is decomposed exactly.
absl::StatusOr<TruncatedSvd> RandomisedSvd(const HoldingsMatrix& matrix, int rank) {
  constexpr int kOversampling = 10;
  constexpr int kPowerIterations = 4;
  const int64_t num_products = matrix.cols();
  const Eigen::Index width = std::min<Eigen::Index>(rank + kOversampling, num_products);
  std::mt19937_64 rng(0x5eed);
  auto gaussian = [&rng]() {
    // Box-Muller on 53-bit uniforms: reproducible across standard libraries.
    const double u1 = (static_cast<double>(rng() >> 11) + 1.0) * (1.0 / 9007199254740993.0);
    const double u2 = static_cast<double>(rng() >> 11) * (1.0 / 9007199254740992.0);
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * 3.14159265358979323846 * u2);
  };
  Eigen::MatrixXd omega(num_products, width);
  for (Eigen::Index j = 0; j < width; ++j) {
    for (Eigen::Index i = 0; i < num_products; ++i) omega(i, j) = gaussian();
  }
  const Eigen::SparseMatrix<double, Eigen::RowMajor, int64_t> r = matrix.cast<double>();
  auto orthonormalise = [](const Eigen::MatrixXd& m) {
    Eigen::HouseholderQR<Eigen::MatrixXd> qr(m);
    return Eigen::MatrixXd(qr.householderQ() * Eigen::MatrixXd::Identity(m.rows(), m.cols()));
  };
  Eigen::MatrixXd q = orthonormalise(r * omega);
  for (int i = 0; i < kPowerIterations; ++i) {
    const Eigen::MatrixXd z = orthonormalise(r.transpose() * q);
    q = orthonormalise(r * z);
  }
  // B = Q^T R, computed as (R^T Q)^T to stay sparse-times-dense.
  const Eigen::MatrixXd b = (r.transpose() * q).transpose();
  Eigen::BDCSVD<Eigen::MatrixXd> small(b, Eigen::ComputeThinV);
  TruncatedSvd svd;
  svd.singular_values.resize(rank);
  svd.product_factors.resize(num_products, rank);
  for (int k = 0; k < rank; ++k) {
    svd.singular_values[k] = static_cast<float>(small.singularValues()[k]);
    Eigen::VectorXd column = small.matrixV().col(k);
    FixSign(column);
    svd.product_factors.col(k) = column.cast<float>();
  }
  return svd;
}

}  // namespace

Eigen::MatrixXd GramMatrix(const HoldingsMatrix& matrix) {
  const int64_t num_products = matrix.cols();
  // Accumulate R^T R row by row so the customer dimension is never densified.
  Eigen::MatrixXd gram = Eigen::MatrixXd::Zero(num_products, num_products);
  for (int64_t row = 0; row < matrix.outerSize(); ++row) {
    for (HoldingsMatrix::InnerIterator a(matrix, row); a; ++a) {
      for (HoldingsMatrix::InnerIterator b(matrix, row); b; ++b) {
        gram(a.col(), b.col()) += static_cast<double>(a.value()) * b.value();
      }
    }
  }
  return gram;
}

absl::StatusOr<TruncatedSvd> ComputeTruncatedSvd(const HoldingsMatrix& matrix, int rank) {
  const int64_t num_products = matrix.cols();
  if (rank < 1 || rank > num_products) {
    return absl::InvalidArgumentError(
        absl::StrCat("SVD rank ", rank, " must be between 1 and the number of products (",
                     num_products, ")"));
  }

  absl::StatusOr<TruncatedSvd> svd =
      num_products <= kMaxGramProducts ? GramSvd(matrix, rank) : RandomisedSvd(matrix, rank);
  if (!svd.ok()) return svd.status();
  svd->customer_factors = matrix * svd->product_factors;
  return svd;
}

}  // namespace easymoney
