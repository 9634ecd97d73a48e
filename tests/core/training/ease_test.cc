#include "core/training/ease.h"

#include <random>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/random_holdings.h"

namespace easymoney {
namespace {

using ::testing::HasSubstr;

using testing::RandomHoldings;
using testing::ToHoldings;

TEST(EaseTest, FullRankProductTermsAreTheRegularisedPartialCorrelations) {
  const Eigen::MatrixXd x = RandomHoldings(1);
  const HoldingsMatrix holdings = ToHoldings(x);
  auto spectrum = ComputeGramSpectrum(holdings);
  ASSERT_TRUE(spectrum.ok()) << spectrum.status();
  const double relative_lambda = 0.7;
  auto factors = FactorEase(holdings, *spectrum, relative_lambda, 9);
  ASSERT_TRUE(factors.ok()) << factors.status();

  // The definition, straight from the inverse.
  const Eigen::MatrixXd gram = x.transpose() * x;
  const double lambda = relative_lambda * gram.trace() / 9;
  const Eigen::MatrixXd precision = (gram + lambda * Eigen::MatrixXd::Identity(9, 9)).inverse();
  const Eigen::MatrixXd q = factors->product_factors.cast<double>();
  const Eigen::MatrixXd served = q * q.transpose();
  for (int i = 0; i < 9; ++i) {
    for (int j = 0; j < 9; ++j) {
      if (i == j) continue;
      const double partial_correlation = -precision(i, j) / std::sqrt(precision(i, i) * precision(j, j));
      EXPECT_NEAR(served(i, j), partial_correlation, 1e-5) << i << "," << j;
    }
  }
}

TEST(EaseTest, CustomerFactorsAreTheSumOfTheHeldProductsFactorsAsFoldInComputesThem) {
  const Eigen::MatrixXd x = RandomHoldings(2);
  const HoldingsMatrix holdings = ToHoldings(x);
  auto spectrum = ComputeGramSpectrum(holdings);
  ASSERT_TRUE(spectrum.ok());
  auto factors = FactorEase(holdings, *spectrum, 2.0, 5);
  ASSERT_TRUE(factors.ok());
  for (int u = 0; u < x.rows(); ++u) {
    for (int k = 0; k < 5; ++k) {
      double folded = 0;
      for (int p = 0; p < x.cols(); ++p) {
        if (x(u, p) != 0) folded += factors->product_factors(p, k);
      }
      EXPECT_NEAR(folded, factors->customer_factors(u, k), 1e-5) << "customer " << u << " factor " << k;
    }
  }
}

TEST(EaseTest, TruncationKeepsTheLeadingFactorsAndTheirWeightsDescendInZeroOne) {
  const HoldingsMatrix holdings = ToHoldings(RandomHoldings(3));
  auto spectrum = ComputeGramSpectrum(holdings);
  ASSERT_TRUE(spectrum.ok());
  auto full = FactorEase(holdings, *spectrum, 1.0, 9);
  auto truncated = FactorEase(holdings, *spectrum, 1.0, 4);
  ASSERT_TRUE(full.ok() && truncated.ok());
  EXPECT_TRUE(truncated->product_factors.isApprox(full->product_factors.leftCols(4)));
  EXPECT_TRUE(truncated->customer_factors.isApprox(full->customer_factors.leftCols(4)));
  for (int k = 0; k < 9; ++k) {
    EXPECT_GT(full->singular_values[k], 0);
    EXPECT_LT(full->singular_values[k], 1);
    if (k > 0) {
      EXPECT_LE(full->singular_values[k], full->singular_values[k - 1]);
    }
  }
}

TEST(EaseTest, AProductNobodyHoldsScoresZero) {
  Eigen::MatrixXd x = RandomHoldings(4);
  x.col(6).setZero();
  const HoldingsMatrix holdings = ToHoldings(x);
  auto spectrum = ComputeGramSpectrum(holdings);
  ASSERT_TRUE(spectrum.ok());
  auto factors = FactorEase(holdings, *spectrum, 1.0, 9);
  ASSERT_TRUE(factors.ok());
  EXPECT_TRUE(factors->product_factors.allFinite());
  EXPECT_LT(factors->product_factors.row(6).norm(), 1e-6f);
}

TEST(EaseTest, RefusesACatalogueAboveTheLimitAndSaysWhy) {
  const HoldingsMatrix holdings = ToHoldings(RandomHoldings(5));
  auto spectrum = ComputeGramSpectrum(holdings, /*max_products=*/8);
  ASSERT_FALSE(spectrum.ok());
  EXPECT_EQ(spectrum.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(spectrum.status().message(), HasSubstr("9 x 9"));
  EXPECT_THAT(spectrum.status().message(), HasSubstr("limit is 8 products"));
}

TEST(EaseTest, RefusesRanksOutsideTheCatalogueAndNonPositiveRegularisation) {
  const HoldingsMatrix holdings = ToHoldings(RandomHoldings(6));
  auto spectrum = ComputeGramSpectrum(holdings);
  ASSERT_TRUE(spectrum.ok());
  for (int rank : {0, 10}) {
    auto factors = FactorEase(holdings, *spectrum, 1.0, rank);
    EXPECT_EQ(factors.status().code(), absl::StatusCode::kInvalidArgument) << rank;
  }
  for (double lambda : {0.0, -1.0, std::nan("")}) {
    auto factors = FactorEase(holdings, *spectrum, lambda, 3);
    EXPECT_EQ(factors.status().code(), absl::StatusCode::kInvalidArgument) << lambda;
  }
}

}  // namespace
}  // namespace easymoney
