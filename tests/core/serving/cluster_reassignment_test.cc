#include "core/serving/cluster_reassignment.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <numeric>
#include <random>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/clustered_model.h"
#include "tests/testing/test_model.h"

namespace easymoney {
namespace {

using ::testing::ElementsAre;

using testing::ClusteredArrays;
using testing::ClusteredModel;
using testing::Ids;

TEST(ReassignedShareTest, PermutedClusterLabelsReassignNobody) {
  const auto before = ClusteredModel(1, Ids(1, 6), {0, 0, 1, 1, 2, 2}, 3);
  const auto after = ClusteredModel(2, Ids(1, 6), {2, 2, 0, 0, 1, 1}, 3);
  EXPECT_EQ(ReassignedShare(*before, *after), 0.0);
}

// Customers 1..10; customers 3 and 8 change cluster, 2 of 10 (the matching
// keeps 0->0 and 1->1, the larger cells).
TEST(ReassignedShareTest, CountsTheCustomersOutsideTheirMatchedCluster) {
  const auto before = ClusteredModel(1, Ids(1, 10), {0, 0, 0, 0, 0, 1, 1, 1, 1, 1}, 2);
  const auto after = ClusteredModel(2, Ids(1, 10), {0, 0, 1, 0, 0, 1, 1, 0, 1, 1}, 2);
  EXPECT_DOUBLE_EQ(ReassignedShare(*before, *after), 0.2);
}

// Only customers in both versions count: 5..10 are common, and of them 9
// and 10 moved.
TEST(ReassignedShareTest, OnlyCustomersInBothVersionsCount) {
  const auto before = ClusteredModel(1, Ids(1, 10), {0, 0, 0, 0, 0, 0, 1, 1, 1, 1}, 2);
  const auto after = ClusteredModel(2, Ids(5, 14), {0, 0, 1, 1, 0, 0, 1, 1, 1, 1}, 2);
  const absl::StatusOr<ClusterCrosstab> crosstab = CountCommonCustomers(*before, *after);
  ASSERT_TRUE(crosstab.ok()) << crosstab.status();
  EXPECT_EQ(crosstab->common, 6);
  EXPECT_THAT(crosstab->counts, ElementsAre(2, 0, 2, 2));
  EXPECT_DOUBLE_EQ(ReassignedShare(*before, *after), 2.0 / 6);
}

TEST(ReassignedShareTest, DisjointVersionsHaveNoShare) {
  const auto before = ClusteredModel(1, Ids(1, 5), {0, 0, 1, 1, 1}, 2);
  const auto after = ClusteredModel(2, Ids(6, 10), {0, 0, 1, 1, 1}, 2);
  EXPECT_FALSE(CountCommonCustomers(*before, *after).ok());
  EXPECT_TRUE(std::isnan(ReassignedShare(*before, *after)));
}

// The best total by trying every injective map of the smaller side.
int64_t BruteForceBestTotal(const std::vector<int64_t>& counts, int rows, int cols) {
  const bool transposed = rows > cols;
  const int small = transposed ? cols : rows;
  const int large = transposed ? rows : cols;
  std::vector<int> targets(static_cast<size_t>(large));
  std::iota(targets.begin(), targets.end(), 0);
  int64_t best = 0;
  do {
    int64_t total = 0;
    for (int i = 0; i < small; ++i) {
      const int j = targets[static_cast<size_t>(i)];
      total += transposed ? counts[static_cast<size_t>(j * cols + i)] : counts[static_cast<size_t>(i * cols + j)];
    }
    best = std::max(best, total);
  } while (std::next_permutation(targets.begin(), targets.end()));
  return best;
}

TEST(MatchClustersTest, FindsTheLargestTotalWhereGreedyWouldNot) {
  // Greedy takes the 10 and is left with the 0; the best matching is 9 + 8.
  EXPECT_THAT(MatchClusters(std::vector<int64_t>{10, 9, 8, 0}, 2, 2), ElementsAre(1, 0));
}

TEST(MatchClustersTest, MatchesBruteForceOnRandomRectangularTables) {
  std::mt19937_64 random(11);
  for (int trial = 0; trial < 300; ++trial) {
    const int rows = 1 + static_cast<int>(random() % 6);
    const int cols = 1 + static_cast<int>(random() % 6);
    std::vector<int64_t> counts(static_cast<size_t>(rows * cols));
    for (int64_t& count : counts) count = static_cast<int64_t>(random() % 20);
    const std::vector<int32_t> match = MatchClusters(counts, rows, cols);
    ASSERT_EQ(match.size(), static_cast<size_t>(rows));
    int64_t total = 0;
    std::vector<int> used(static_cast<size_t>(cols), 0);
    int matched = 0;
    for (int r = 0; r < rows; ++r) {
      const int32_t c = match[static_cast<size_t>(r)];
      if (c < 0) continue;
      ASSERT_LT(c, cols);
      ASSERT_EQ(used[static_cast<size_t>(c)]++, 0) << "column " << c << " matched twice";
      total += counts[static_cast<size_t>(r * cols + c)];
      ++matched;
    }
    EXPECT_EQ(matched, std::min(rows, cols));
    EXPECT_EQ(total, BruteForceBestTotal(counts, rows, cols)) << "trial " << trial;
  }
}

TEST(MatchClustersTest, ManyClustersAreMatchedGreedilyAndOneToOne) {
  const int size = kMaxHungarianClusters + 1;
  // The identity plus noise: each row's diagonal cell is its largest.
  std::vector<int64_t> counts(static_cast<size_t>(size) * size, 1);
  for (int i = 0; i < size; ++i) counts[static_cast<size_t>(i) * size + static_cast<size_t>((i + 5) % size)] = 100;
  const std::vector<int32_t> match = MatchClusters(counts, size, size);
  for (int i = 0; i < size; ++i) EXPECT_EQ(match[static_cast<size_t>(i)], (i + 5) % size);
}

}  // namespace
}  // namespace easymoney
