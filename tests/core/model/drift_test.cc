#include "core/model/drift.h"

#include <cmath>
#include <vector>

#include <gtest/gtest.h>

namespace easymoney {
namespace {

TEST(Drift, PsiIsZeroForTheSameMixAndMatchesTheFormulaOtherwise) {
  const std::vector<double> expected = {0.5, 0.3, 0.2};
  EXPECT_NEAR(*PopulationStabilityIndex(expected, std::vector<int64_t>{500, 300, 200}, 100), 0.0, 1e-12);
  const double psi = *PopulationStabilityIndex(expected, std::vector<int64_t>{300, 300, 400}, 100);
  const double by_hand = (0.3 - 0.5) * std::log(0.3 / 0.5) + 0.0 + (0.4 - 0.2) * std::log(0.4 / 0.2);
  EXPECT_NEAR(psi, by_hand, 1e-12);
  EXPECT_GT(psi, 0.2);  // A shift this size is "significant" by the usual convention.
}

TEST(Drift, PsiNeedsEnoughSamplesAndMatchingBins) {
  const std::vector<double> expected = {0.5, 0.5};
  EXPECT_FALSE(PopulationStabilityIndex(expected, std::vector<int64_t>{10, 9}, 20).has_value());
  EXPECT_TRUE(PopulationStabilityIndex(expected, std::vector<int64_t>{10, 10}, 20).has_value());
  EXPECT_FALSE(PopulationStabilityIndex(expected, std::vector<int64_t>{10, 10, 10}, 1).has_value());
  // An empty observed bin stays finite.
  EXPECT_TRUE(std::isfinite(*PopulationStabilityIndex(expected, std::vector<int64_t>{0, 100}, 1)));
}

TEST(Drift, DecilesSplitTheTrainingValuesIntoTenths) {
  std::vector<double> values;
  for (int i = 1; i <= 1000; ++i) values.push_back(i);
  const auto distribution = DecileDistribution("salary", values);
  ASSERT_EQ(distribution.upper_bounds_size(), 9);
  ASSERT_EQ(distribution.shares_size(), 10);
  for (double share : distribution.shares()) EXPECT_NEAR(share, 0.1, 0.002);
  EXPECT_EQ(DistributionBin(distribution, 0), 0);
  EXPECT_EQ(DistributionBin(distribution, 5000), 9);
  // The same values observed again: no drift.
  std::vector<int64_t> counts(10, 0);
  for (double v : values) ++counts[DistributionBin(distribution, v)];
  EXPECT_NEAR(*PopulationStabilityIndex(std::vector<double>(distribution.shares().begin(), distribution.shares().end()),
                                        counts, 100),
              0.0, 1e-9);
}

TEST(Drift, RepeatedValuesKeepDistinctBounds) {
  const auto distribution = DecileDistribution("age", {20, 20, 20, 20, 20, 20, 20, 20, 30, 40});
  for (int i = 1; i < distribution.upper_bounds_size(); ++i) {
    EXPECT_GT(distribution.upper_bounds(i), distribution.upper_bounds(i - 1));
  }
  double total = 0;
  for (double share : distribution.shares()) total += share;
  EXPECT_NEAR(total, 1.0, 1e-12);
}

}  // namespace
}  // namespace easymoney
