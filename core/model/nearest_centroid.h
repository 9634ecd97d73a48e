#ifndef EASYMONEY_CORE_MODEL_NEAREST_CENTROID_H_
#define EASYMONEY_CORE_MODEL_NEAREST_CENTROID_H_

// Cluster assignment by the nearest k-means centroid: the trainer assigns
// every customer with it and the server assigns cold-start profiles with
// it, so the two cannot disagree. Stateless; thread-safe.

#include <cstdint>

#include "core/model/matrix.h"

namespace easymoney {

// Squared Euclidean distance of two `dims`-float points, summed in double.
double SquaredDistance(const float* a, const float* b, Eigen::Index dims);

// The row of `centroids` nearest to `point` (centroids.cols() floats); the
// lowest index wins a tie.
int32_t NearestCentroid(const RowMajorMatrix& centroids, const float* point);

}  // namespace easymoney

#endif  // EASYMONEY_CORE_MODEL_NEAREST_CENTROID_H_
