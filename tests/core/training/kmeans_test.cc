#include "core/training/kmeans.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <set>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "core/model/nearest_centroid.h"
#include "gtest/gtest.h"

namespace easymoney {
namespace {

using ::testing::HasSubstr;

// Points drawn around well-separated centres (distance 10, spread 0.5), so
// the planted partition is the only sensible clustering.
struct Blobs {
  RowMajorMatrix points;
  std::vector<int> planted;  // The centre each point was drawn around.
};

Blobs MakeBlobs(int points_per_blob) {
  const float centres[3][2] = {{0, 0}, {10, 0}, {0, 10}};
  std::mt19937_64 rng(2024);
  std::normal_distribution<float> noise(0.0f, 0.5f);
  Blobs blobs;
  blobs.points.resize(3 * points_per_blob, 2);
  for (int i = 0; i < 3 * points_per_blob; ++i) {
    // Interleaved, so no cluster is a contiguous block of rows.
    const int blob = i % 3;
    blobs.points(i, 0) = centres[blob][0] + noise(rng);
    blobs.points(i, 1) = centres[blob][1] + noise(rng);
    blobs.planted.push_back(blob);
  }
  return blobs;
}

// True when `assignments` equals `planted` up to a renaming of the labels.
void ExpectSamePartition(const std::vector<int>& planted, const std::vector<int32_t>& assignments, int k) {
  ASSERT_EQ(planted.size(), assignments.size());
  std::vector<int32_t> label_of_planted(static_cast<size_t>(k), -1);
  for (size_t i = 0; i < planted.size(); ++i) {
    int32_t& label = label_of_planted[static_cast<size_t>(planted[i])];
    if (label == -1) label = assignments[i];
    ASSERT_EQ(assignments[i], label) << "point " << i << " of planted cluster " << planted[i];
  }
  const std::set<int32_t> distinct(label_of_planted.begin(), label_of_planted.end());
  EXPECT_EQ(distinct.size(), static_cast<size_t>(k)) << "two planted clusters were merged";
  for (int32_t label : distinct) {
    EXPECT_GE(label, 0);
    EXPECT_LT(label, k);
  }
}

TEST(KMeansTest, RecoversPlantedClusters) {
  const Blobs blobs = MakeBlobs(100);
  KMeansOptions options;
  options.num_clusters = 3;
  auto result = RunKMeans(blobs.points, options);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->centroids.rows(), 3);
  ASSERT_EQ(result->centroids.cols(), 2);
  ExpectSamePartition(blobs.planted, result->assignments, 3);
  // Each centroid sits near the centre of its blob.
  for (int c = 0; c < 3; ++c) {
    const float x = result->centroids(c, 0);
    const float y = result->centroids(c, 1);
    const float nearest = std::min({std::hypot(x, y), std::hypot(x - 10, y), std::hypot(x, y - 10)});
    EXPECT_LT(nearest, 0.3f) << "centroid " << c << " at (" << x << ", " << y << ")";
  }
}

TEST(KMeansTest, RecoversPlantedClustersWhenFittingOnASample) {
  const Blobs blobs = MakeBlobs(100);
  KMeansOptions options;
  options.num_clusters = 3;
  options.max_fit_points = 60;
  auto result = RunKMeans(blobs.points, options);
  ASSERT_TRUE(result.ok()) << result.status();
  // Every point is assigned, not only the sample.
  ExpectSamePartition(blobs.planted, result->assignments, 3);
}

TEST(KMeansTest, SameSeedGivesIdenticalResult) {
  const Blobs blobs = MakeBlobs(100);
  KMeansOptions options;
  options.num_clusters = 5;  // More clusters than blobs, so seeding matters.
  options.seed = 7;
  auto first = RunKMeans(blobs.points, options);
  auto second = RunKMeans(blobs.points, options);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(first->assignments, second->assignments);
  EXPECT_EQ(first->centroids, second->centroids);
  EXPECT_EQ(first->inertia, second->inertia);
  EXPECT_EQ(first->iterations, second->iterations);
}

TEST(KMeansTest, NearestCentroidAgreesWithAssignments) {
  const Blobs blobs = MakeBlobs(100);
  KMeansOptions options;
  options.num_clusters = 4;
  auto result = RunKMeans(blobs.points, options);
  ASSERT_TRUE(result.ok()) << result.status();
  double inertia = 0;
  for (Eigen::Index i = 0; i < blobs.points.rows(); ++i) {
    const int32_t nearest = NearestCentroid(result->centroids, blobs.points.row(i).data());
    EXPECT_EQ(nearest, result->assignments[static_cast<size_t>(i)]) << "point " << i;
    inertia += (blobs.points.row(i) - result->centroids.row(nearest)).cast<double>().squaredNorm();
  }
  EXPECT_NEAR(result->inertia, inertia, 1e-6 * inertia);
}

TEST(KMeansTest, RefusesMoreClustersThanPoints) {
  RowMajorMatrix points(3, 2);
  points << 0, 0, 1, 1, 2, 2;
  KMeansOptions options;
  options.num_clusters = 4;
  auto result = RunKMeans(points, options);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(result.status().message(), HasSubstr("num_clusters (4)"));
}

TEST(KMeansTest, RefusesZeroClusters) {
  RowMajorMatrix points(3, 2);
  points << 0, 0, 1, 1, 2, 2;
  KMeansOptions options;
  options.num_clusters = 0;
  EXPECT_EQ(RunKMeans(points, options).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(KMeansTest, RefusesNaNInput) {
  RowMajorMatrix points(3, 2);
  points << 0, 0, 1, std::numeric_limits<float>::quiet_NaN(), 2, 2;
  KMeansOptions options;
  options.num_clusters = 2;
  auto result = RunKMeans(points, options);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(result.status().message(), HasSubstr("NaN"));
}

}  // namespace
}  // namespace easymoney
