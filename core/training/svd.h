#ifndef EASYMONEY_CORE_TRAINING_SVD_H_
#define EASYMONEY_CORE_TRAINING_SVD_H_

#include <Eigen/Dense>

#include "absl/status/statusor.h"
#include "core/model/matrix.h"

namespace easymoney {

// A rank-k truncated SVD R ~= U S V^T of a customers x products matrix, in
// the PureSVD parameterisation the server scores with:
//   customer_factors = U S = R V   (customers x k)
//   product_factors  = V           (products x k, orthonormal columns)
// so score(customer, product) = customer_factors.row(c) . product_factors.row(p),
// and a customer's factors can be folded in from any holdings row r as r V.
struct TruncatedSvd {
  RowMajorMatrix customer_factors;
  RowMajorMatrix product_factors;
  Eigen::VectorXf singular_values;  // Descending.
};

// Computes the top-`rank` singular triplets of `matrix`.
//
// Up to 512 products (easyMoney has 15) this eigendecomposes the products x
// products Gram matrix R^T R in double precision: one pass over the
// non-zeros plus O(P^3), exact up to rounding. Larger catalogues use a
// randomised SVD (Gaussian sketch of width rank + 10, four power
// iterations), whose cost is linear in the non-zeros and never forms a
// dense customers x products matrix. Both are deterministic.
// Errors: rank < 1 or > number of products.
absl::StatusOr<TruncatedSvd> ComputeTruncatedSvd(const HoldingsMatrix& matrix, int rank);

// R^T R in double precision, dense products x products, accumulated row by
// row so the customer dimension is never densified: O(sum of squared row
// lengths) time, 8 P^2 bytes.
Eigen::MatrixXd GramMatrix(const HoldingsMatrix& matrix);

}  // namespace easymoney

#endif  // EASYMONEY_CORE_TRAINING_SVD_H_
