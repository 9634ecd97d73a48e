#include "core/model/nearest_centroid.h"

#include <limits>

namespace easymoney {

double SquaredDistance(const float* a, const float* b, Eigen::Index dims) {
  double sum = 0;
  for (Eigen::Index i = 0; i < dims; ++i) {
    const double d = static_cast<double>(a[i]) - b[i];
    sum += d * d;
  }
  return sum;
}

int32_t NearestCentroid(const RowMajorMatrix& centroids, const float* point) {
  int32_t best = 0;
  double best_distance = std::numeric_limits<double>::infinity();
  for (Eigen::Index c = 0; c < centroids.rows(); ++c) {
    const double d = SquaredDistance(point, centroids.row(c).data(), centroids.cols());
    if (d < best_distance) {
      best_distance = d;
      best = static_cast<int32_t>(c);
    }
  }
  return best;
}

}  // namespace easymoney
