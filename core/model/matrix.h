#ifndef EASYMONEY_CORE_MODEL_MATRIX_H_
#define EASYMONEY_CORE_MODEL_MATRIX_H_

// The matrix types the model format, the scoring code and the trainer share.

#include <cstdint>

#include <Eigen/Dense>
#include <Eigen/SparseCore>

namespace easymoney {

// Customers x products, 1 where the customer holds the product.
using HoldingsMatrix = Eigen::SparseMatrix<float, Eigen::RowMajor, int64_t>;
// Dense row-major floats: factor matrices, centroids, encoded features.
using RowMajorMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

}  // namespace easymoney

#endif  // EASYMONEY_CORE_MODEL_MATRIX_H_
