#include "core/training/blend.h"

#include <cmath>
#include <limits>

#include "absl/status/status.h"
#include "core/training/ease.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/random_holdings.h"

namespace easymoney {
namespace {

using ::testing::HasSubstr;

using testing::RandomHoldings;
using testing::ToHoldings;

// The two parts the trainer blends: EASE and a PureSVD subspace.
struct Parts {
  Eigen::MatrixXd x;
  HoldingsMatrix holdings;
  TruncatedSvd ease;
  TruncatedSvd svd;
};

Parts MakeParts(uint32_t seed) {
  Parts parts;
  parts.x = RandomHoldings(seed);
  parts.holdings = ToHoldings(parts.x);
  auto spectrum = ComputeGramSpectrum(parts.holdings);
  EXPECT_TRUE(spectrum.ok()) << spectrum.status();
  auto ease = FactorEase(parts.holdings, *spectrum, 1.5, 6);
  EXPECT_TRUE(ease.ok()) << ease.status();
  parts.ease = *std::move(ease);
  auto svd = ComputeTruncatedSvd(parts.holdings, 2);
  EXPECT_TRUE(svd.ok()) << svd.status();
  parts.svd = *std::move(svd);
  return parts;
}

double BruteForceRms(const Eigen::MatrixXd& x, const RowMajorMatrix& product_factors) {
  const Eigen::MatrixXd q = product_factors.cast<double>();
  const Eigen::MatrixXd scores = x * q * q.transpose();
  return std::sqrt(scores.squaredNorm() / static_cast<double>(scores.size()));
}

TEST(RmsScoreTest, EqualsTheRootMeanSquareOfEveryScore) {
  const Parts parts = MakeParts(1);
  EXPECT_NEAR(RmsScore(parts.holdings, parts.ease.product_factors), BruteForceRms(parts.x, parts.ease.product_factors),
              1e-5);
  EXPECT_NEAR(RmsScore(parts.holdings, parts.svd.product_factors), BruteForceRms(parts.x, parts.svd.product_factors),
              1e-5);
}

TEST(BlendFactorsTest, ScoresAreTheFirstPartsPlusTheSecondPartsScaledToTheRelativeWeight) {
  const Parts parts = MakeParts(2);
  const double weight = 0.7;
  auto blend = BlendFactors(parts.holdings, parts.ease, parts.svd, weight);
  ASSERT_TRUE(blend.ok()) << blend.status();
  ASSERT_EQ(blend->product_factors.cols(), 8);  // 6 + 2 factors.
  ASSERT_EQ(blend->product_factors.rows(), 9);
  ASSERT_EQ(blend->singular_values.size(), 8);

  const Eigen::MatrixXd qa = parts.ease.product_factors.cast<double>();
  const Eigen::MatrixXd qb = parts.svd.product_factors.cast<double>();
  const Eigen::MatrixXd first = parts.x * qa * qa.transpose();
  const Eigen::MatrixXd second = parts.x * qb * qb.transpose();
  const double rms_first = std::sqrt(first.squaredNorm() / static_cast<double>(first.size()));
  const double rms_second = std::sqrt(second.squaredNorm() / static_cast<double>(second.size()));
  const Eigen::MatrixXd expected = first + weight * rms_first / rms_second * second;

  const Eigen::MatrixXd served =
      blend->customer_factors.cast<double>() * blend->product_factors.cast<double>().transpose();
  EXPECT_LT((served - expected).cwiseAbs().maxCoeff(), 1e-4 * expected.cwiseAbs().maxCoeff());
  // The second part's share of the scores has the asked-for spread.
  const Eigen::MatrixXd q_second = blend->product_factors.rightCols(2).cast<double>();
  const Eigen::MatrixXd second_share = parts.x * q_second * q_second.transpose();
  EXPECT_NEAR(std::sqrt(second_share.squaredNorm() / static_cast<double>(second_share.size())), weight * rms_first,
              1e-4 * rms_first);
}

TEST(BlendFactorsTest, CustomerFactorsAreTheSumOfTheHeldProductsFactorsAsFoldInComputesThem) {
  const Parts parts = MakeParts(3);
  auto blend = BlendFactors(parts.holdings, parts.ease, parts.svd, 2.0);
  ASSERT_TRUE(blend.ok()) << blend.status();
  for (int u = 0; u < parts.x.rows(); ++u) {
    Eigen::RowVectorXd folded = Eigen::RowVectorXd::Zero(blend->product_factors.cols());
    for (int p = 0; p < parts.x.cols(); ++p) {
      if (parts.x(u, p) != 0) folded += blend->product_factors.row(p).cast<double>();
    }
    EXPECT_LT((folded - blend->customer_factors.row(u).cast<double>()).cwiseAbs().maxCoeff(), 1e-5) << u;
  }
}

TEST(BlendFactorsTest, AGivenFirstPartRmsGivesTheSameBlend) {
  const Parts parts = MakeParts(4);
  auto computed = BlendFactors(parts.holdings, parts.ease, parts.svd, 0.5);
  auto given = BlendFactors(parts.holdings, parts.ease, parts.svd, 0.5,
                            RmsScore(parts.holdings, parts.ease.product_factors));
  ASSERT_TRUE(computed.ok() && given.ok());
  EXPECT_TRUE(computed->product_factors.isApprox(given->product_factors));
  // And a wrong one changes it: the argument is used, not recomputed.
  auto wrong = BlendFactors(parts.holdings, parts.ease, parts.svd, 0.5,
                            4 * RmsScore(parts.holdings, parts.ease.product_factors));
  ASSERT_TRUE(wrong.ok());
  EXPECT_FALSE(computed->product_factors.isApprox(wrong->product_factors));
}

TEST(BlendFactorsTest, RefusesABadWeightMismatchedPartsAndASecondPartWithoutScores) {
  const Parts parts = MakeParts(5);
  for (double weight : {0.0, -1.0, std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity()}) {
    auto blend = BlendFactors(parts.holdings, parts.ease, parts.svd, weight);
    ASSERT_EQ(blend.status().code(), absl::StatusCode::kInvalidArgument) << weight;
    EXPECT_THAT(blend.status().message(), HasSubstr("must be a positive number"));
  }
  TruncatedSvd short_part = parts.svd;
  short_part.product_factors = short_part.product_factors.topRows(8).eval();
  auto mismatched = BlendFactors(parts.holdings, parts.ease, short_part, 1.0);
  ASSERT_EQ(mismatched.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(mismatched.status().message(), HasSubstr("8 products, the matrix 9"));

  TruncatedSvd zero = parts.svd;
  zero.product_factors.setZero();
  auto empty = BlendFactors(parts.holdings, parts.ease, zero, 1.0);
  ASSERT_EQ(empty.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(empty.status().message(), HasSubstr("no scale to match"));
}

}  // namespace
}  // namespace easymoney
