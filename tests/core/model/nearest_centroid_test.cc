#include "core/model/nearest_centroid.h"

#include "gtest/gtest.h"

namespace easymoney {
namespace {

TEST(NearestCentroidTest, PicksTheClosestRow) {
  RowMajorMatrix centroids(3, 2);
  centroids << 0, 0, 10, 10, -5, 5;
  const float near_second[] = {9, 8};
  const float near_third[] = {-4, 6};
  EXPECT_EQ(NearestCentroid(centroids, near_second), 1);
  EXPECT_EQ(NearestCentroid(centroids, near_third), 2);
}

TEST(NearestCentroidTest, BreaksTiesToTheLowerIndex) {
  RowMajorMatrix centroids(3, 1);
  centroids << 2, -1, 1;
  const float point[] = {0};
  EXPECT_EQ(NearestCentroid(centroids, point), 1);
}

TEST(NearestCentroidTest, SquaredDistanceSumsInDouble) {
  const float a[] = {1e8f, 0, 3};
  const float b[] = {1e8f + 8, 4, 0};
  EXPECT_DOUBLE_EQ(SquaredDistance(a, b, 3), 64.0 + 16.0 + 9.0);
}

}  // namespace
}  // namespace easymoney
