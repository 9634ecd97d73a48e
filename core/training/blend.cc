#include "core/training/blend.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace easymoney {

double RmsScore(const HoldingsMatrix& matrix, const RowMajorMatrix& product_factors) {
  const int64_t entries = static_cast<int64_t>(matrix.rows()) * matrix.cols();
  if (entries == 0 || product_factors.cols() == 0) return 0;
  // In float, like the factors: a double copy of A would triple the
  // memory of the customer factors, and a normaliser needs no more.
  const RowMajorMatrix a = matrix * product_factors;
  const Eigen::MatrixXd ata = (a.transpose() * a).cast<double>();
  const Eigen::MatrixXd qtq = (product_factors.transpose() * product_factors).cast<double>();
  const double squared = (ata.array() * qtq.array()).sum();
  return std::sqrt(std::max(0.0, squared) / static_cast<double>(entries));
}

absl::StatusOr<TruncatedSvd> BlendFactors(const HoldingsMatrix& matrix, const TruncatedSvd& first,
                                          const TruncatedSvd& second, double relative_weight, double first_rms) {
  if (!(relative_weight > 0) || !std::isfinite(relative_weight)) {
    return absl::InvalidArgumentError(
        absl::StrCat("blend weight ", relative_weight, " must be a positive number"));
  }
  if (first.singular_values.size() != first.product_factors.cols() ||
      second.singular_values.size() != second.product_factors.cols()) {
    return absl::InvalidArgumentError("a blend part has a singular value count unlike its factor count");
  }
  if (first.product_factors.rows() != matrix.cols() || second.product_factors.rows() != matrix.cols()) {
    return absl::InvalidArgumentError(absl::StrCat("the blend's parts have ", first.product_factors.rows(), " and ",
                                                   second.product_factors.rows(), " products, the matrix ",
                                                   matrix.cols()));
  }
  if (!(first_rms >= 0)) first_rms = RmsScore(matrix, first.product_factors);  // Not given (or NaN).
  if (!(first_rms > 0)) {
    return absl::InvalidArgumentError("the blend's first part scores every product 0: no scale to match");
  }
  const double second_rms = RmsScore(matrix, second.product_factors);
  if (!(second_rms > 0)) {
    return absl::InvalidArgumentError("the blend's second part scores every product 0: no scale to match");
  }
  const double squared_scale = relative_weight * first_rms / second_rms;
  const float scale = static_cast<float>(std::sqrt(squared_scale));
  const Eigen::Index first_rank = first.product_factors.cols();
  const Eigen::Index second_rank = second.product_factors.cols();
  TruncatedSvd blend;
  blend.product_factors.resize(matrix.cols(), first_rank + second_rank);
  blend.product_factors.leftCols(first_rank) = first.product_factors;
  blend.product_factors.rightCols(second_rank) = scale * second.product_factors;
  blend.customer_factors = matrix * blend.product_factors;
  blend.singular_values.resize(first_rank + second_rank);
  blend.singular_values.head(first_rank) = first.singular_values;
  blend.singular_values.tail(second_rank) = static_cast<float>(squared_scale) * second.singular_values;
  return blend;
}

}  // namespace easymoney
