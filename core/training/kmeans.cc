#include "core/training/kmeans.h"

#include <cmath>
#include <limits>
#include <random>

#include "absl/strings/str_cat.h"
#include "core/model/nearest_centroid.h"

namespace easymoney {
namespace {

// Uniform double in [0, 1) from 53 random bits; std::uniform_real_distribution
// differs between standard libraries, this does not.
double UniformUnit(std::mt19937_64& rng) {
  return static_cast<double>(rng() >> 11) * (1.0 / 9007199254740992.0);
}


RowMajorMatrix SeedPlusPlus(const RowMajorMatrix& points, int k, std::mt19937_64& rng) {
  const Eigen::Index n = points.rows();
  const Eigen::Index dims = points.cols();
  RowMajorMatrix centroids(k, dims);
  const auto first = static_cast<Eigen::Index>(UniformUnit(rng) * static_cast<double>(n));
  centroids.row(0) = points.row(first);
  std::vector<double> nearest(static_cast<size_t>(n), std::numeric_limits<double>::infinity());
  for (int c = 1; c < k; ++c) {
    double total = 0;
    for (Eigen::Index i = 0; i < n; ++i) {
      const double d = SquaredDistance(points.row(i).data(), centroids.row(c - 1).data(), dims);
      if (d < nearest[i]) nearest[i] = d;
      total += nearest[i];
    }
    Eigen::Index chosen = n - 1;
    if (total > 0) {
      double target = UniformUnit(rng) * total;
      for (Eigen::Index i = 0; i < n; ++i) {
        target -= nearest[i];
        if (target < 0) {
          chosen = i;
          break;
        }
      }
    } else {
      chosen = static_cast<Eigen::Index>(UniformUnit(rng) * static_cast<double>(n));
    }
    centroids.row(c) = points.row(chosen);
  }
  return centroids;
}

KMeansResult Lloyd(const RowMajorMatrix& points, RowMajorMatrix centroids,
                   const KMeansOptions& options) {
  const Eigen::Index n = points.rows();
  const Eigen::Index dims = points.cols();
  const int k = static_cast<int>(centroids.rows());
  KMeansResult result;
  result.assignments.assign(static_cast<size_t>(n), -1);
  double previous_inertia = std::numeric_limits<double>::infinity();
  Eigen::MatrixXd sums(k, dims);
  std::vector<int64_t> counts(static_cast<size_t>(k));
  for (int iteration = 1; iteration <= options.max_iterations; ++iteration) {
    result.iterations = iteration;
    bool changed = false;
    double inertia = 0;
    sums.setZero();
    std::fill(counts.begin(), counts.end(), 0);
    for (Eigen::Index i = 0; i < n; ++i) {
      const float* point = points.row(i).data();
      const int32_t best = NearestCentroid(centroids, point);
      inertia += SquaredDistance(point, centroids.row(best).data(), dims);
      if (result.assignments[i] != best) {
        result.assignments[i] = best;
        changed = true;
      }
      sums.row(best) += points.row(i).cast<double>();
      ++counts[best];
    }
    result.inertia = inertia;
    for (int c = 0; c < k; ++c) {
      // An emptied cluster keeps its centroid; k-means++ seeding makes this
      // rare and it cannot make inertia worse.
      if (counts[c] > 0) centroids.row(c) = (sums.row(c) / static_cast<double>(counts[c])).cast<float>();
    }
    if (!changed ||
        previous_inertia - inertia <= options.relative_tolerance * std::abs(previous_inertia)) {
      break;
    }
    previous_inertia = inertia;
  }
  // Final assignment against the final centroids, so assignments and
  // centroids agree exactly (serving re-assigns with NearestCentroid).
  result.inertia = 0;
  for (Eigen::Index i = 0; i < n; ++i) {
    const float* point = points.row(i).data();
    result.assignments[i] = NearestCentroid(centroids, point);
    result.inertia += SquaredDistance(point, centroids.row(result.assignments[i]).data(), dims);
  }
  result.centroids = std::move(centroids);
  return result;
}

}  // namespace


namespace {

// Rows of a seeded uniform sample without replacement (partial
// Fisher-Yates), ascending so the sample keeps the input's order.
std::vector<Eigen::Index> SampleRows(Eigen::Index n, int64_t count, uint64_t seed) {
  std::vector<Eigen::Index> rows(static_cast<size_t>(n));
  for (Eigen::Index i = 0; i < n; ++i) rows[i] = i;
  if (count >= n) return rows;
  std::mt19937_64 rng(seed);
  for (int64_t i = 0; i < count; ++i) {
    const auto j = i + static_cast<int64_t>(UniformUnit(rng) * static_cast<double>(n - i));
    std::swap(rows[i], rows[j]);
  }
  rows.resize(static_cast<size_t>(count));
  std::sort(rows.begin(), rows.end());
  return rows;
}

RowMajorMatrix SelectRows(const RowMajorMatrix& points, const std::vector<Eigen::Index>& rows) {
  RowMajorMatrix sample(static_cast<Eigen::Index>(rows.size()), points.cols());
  for (size_t i = 0; i < rows.size(); ++i) sample.row(static_cast<Eigen::Index>(i)) = points.row(rows[i]);
  return sample;
}

}  // namespace

double SilhouetteScore(const RowMajorMatrix& points, const std::vector<int32_t>& assignments, int num_clusters,
                       int64_t max_points, uint64_t seed) {
  if (num_clusters < 2) return 0;
  const std::vector<Eigen::Index> rows = SampleRows(points.rows(), max_points, seed);
  const Eigen::Index dims = points.cols();
  std::vector<double> distance_sum(static_cast<size_t>(num_clusters));
  std::vector<int64_t> cluster_size(static_cast<size_t>(num_clusters));
  for (Eigen::Index r : rows) ++cluster_size[assignments[r]];
  double total = 0;
  for (Eigen::Index i : rows) {
    std::fill(distance_sum.begin(), distance_sum.end(), 0.0);
    for (Eigen::Index j : rows) {
      if (i == j) continue;
      distance_sum[assignments[j]] += std::sqrt(SquaredDistance(points.row(i).data(), points.row(j).data(), dims));
    }
    const int own = assignments[i];
    if (cluster_size[own] <= 1) continue;  // Silhouette of a singleton is 0.
    const double a = distance_sum[own] / static_cast<double>(cluster_size[own] - 1);
    double b = std::numeric_limits<double>::infinity();
    for (int c = 0; c < num_clusters; ++c) {
      if (c != own && cluster_size[c] > 0) b = std::min(b, distance_sum[c] / static_cast<double>(cluster_size[c]));
    }
    if (std::isfinite(b) && std::max(a, b) > 0) total += (b - a) / std::max(a, b);
  }
  return rows.empty() ? 0 : total / static_cast<double>(rows.size());
}

absl::StatusOr<KMeansResult> RunKMeans(const RowMajorMatrix& points, const KMeansOptions& options) {
  if (options.num_clusters < 1 || options.num_clusters > points.rows()) {
    return absl::InvalidArgumentError(absl::StrCat("k-means needs 1 <= num_clusters (",
                                                   options.num_clusters, ") <= number of points (",
                                                   points.rows(), ")"));
  }
  if (!points.allFinite()) {
    return absl::InvalidArgumentError("k-means input contains NaN or Inf");
  }
  std::mt19937_64 rng(options.seed);
  const bool sampled = options.max_fit_points > 0 && points.rows() > options.max_fit_points &&
                       options.max_fit_points >= options.num_clusters;
  const RowMajorMatrix sample =
      sampled ? SelectRows(points, SampleRows(points.rows(), options.max_fit_points, options.seed)) : RowMajorMatrix();
  const RowMajorMatrix& fit_points = sampled ? sample : points;
  KMeansResult best;
  best.inertia = std::numeric_limits<double>::infinity();
  for (int restart = 0; restart < std::max(1, options.restarts); ++restart) {
    KMeansResult candidate = Lloyd(fit_points, SeedPlusPlus(fit_points, options.num_clusters, rng), options);
    if (candidate.inertia < best.inertia) best = std::move(candidate);
  }
  if (sampled) {
    // Assign every point to the centroids fitted on the sample.
    best.assignments.resize(static_cast<size_t>(points.rows()));
    best.inertia = 0;
    for (Eigen::Index i = 0; i < points.rows(); ++i) {
      best.assignments[i] = NearestCentroid(best.centroids, points.row(i).data());
      best.inertia += SquaredDistance(points.row(i).data(), best.centroids.row(best.assignments[i]).data(),
                                      points.cols());
    }
  }
  return best;
}

}  // namespace easymoney
