#ifndef EASYMONEY_CORE_TRAINING_KMEANS_H_
#define EASYMONEY_CORE_TRAINING_KMEANS_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "core/model/matrix.h"

namespace easymoney {

struct KMeansOptions {
  int num_clusters = 8;
  int max_iterations = 100;
  // Independent k-means++ starts; the one with the lowest inertia wins.
  int restarts = 4;
  uint64_t seed = 42;
  // Stop when no assignment changes or inertia improves by less than this
  // fraction.
  double relative_tolerance = 1e-6;
  // Fit the centroids on at most this many points (a seeded uniform
  // sample), then assign every point; 0 fits on all. Large customer bases
  // need no more than a few tens of thousands of points to place centroids.
  int64_t max_fit_points = 0;
};

struct KMeansResult {
  RowMajorMatrix centroids;          // num_clusters x num_features.
  std::vector<int32_t> assignments;  // One cluster per point.
  double inertia = 0;                // Sum of squared distances to centroids.
  int iterations = 0;                // Of the winning restart.
};

// Lloyd's k-means with k-means++ seeding on the rows of `points`.
// Deterministic for a seed (its own random transforms, independent of the
// standard library's distributions). Thread-safe (pure function).
// Errors: INVALID_ARGUMENT when num_clusters < 1 or exceeds the number of
// points, or the points contain NaN/Inf.
absl::StatusOr<KMeansResult> RunKMeans(const RowMajorMatrix& points, const KMeansOptions& options);

// Mean silhouette coefficient of `assignments` over at most `max_points`
// points (a seeded sample; the exact score is O(n^2)). In [-1, 1], higher
// means tighter, better separated clusters; 0 when there is one cluster.
double SilhouetteScore(const RowMajorMatrix& points, const std::vector<int32_t>& assignments, int num_clusters,
                       int64_t max_points, uint64_t seed);


}  // namespace easymoney

#endif  // EASYMONEY_CORE_TRAINING_KMEANS_H_
