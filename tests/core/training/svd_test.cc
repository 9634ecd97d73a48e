#include "core/training/svd.h"

#include <Eigen/SVD>
#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace easymoney {
namespace {

using ::testing::HasSubstr;

// Six customers by four products, full column rank, distinct singular values.
Eigen::MatrixXd SmallHoldings() {
  Eigen::MatrixXd r(6, 4);
  r << 1, 0, 1, 0,  //
      1, 1, 0, 0,   //
      0, 1, 1, 1,   //
      1, 1, 1, 0,   //
      0, 0, 1, 1,   //
      1, 0, 0, 1;
  return r;
}

HoldingsMatrix ToHoldings(const Eigen::MatrixXd& dense) {
  return HoldingsMatrix(dense.cast<float>().sparseView());
}

Eigen::JacobiSVD<Eigen::MatrixXd> Reference(const Eigen::MatrixXd& r) {
  return Eigen::JacobiSVD<Eigen::MatrixXd>(r, Eigen::ComputeThinU | Eigen::ComputeThinV);
}

TEST(SvdTest, SingularValuesMatchJacobiSvd) {
  const Eigen::MatrixXd r = SmallHoldings();
  auto svd = ComputeTruncatedSvd(ToHoldings(r), 4);
  ASSERT_TRUE(svd.ok()) << svd.status();
  const Eigen::VectorXd expected = Reference(r).singularValues();
  ASSERT_EQ(svd->singular_values.size(), 4);
  for (int k = 0; k < 4; ++k) {
    EXPECT_NEAR(svd->singular_values[k], expected[k], 1e-4) << "singular value " << k;
  }
}

TEST(SvdTest, FullRankFactorsReconstructMatrix) {
  const Eigen::MatrixXd r = SmallHoldings();
  ASSERT_EQ(Reference(r).rank(), 4);
  auto svd = ComputeTruncatedSvd(ToHoldings(r), 4);
  ASSERT_TRUE(svd.ok()) << svd.status();
  ASSERT_EQ(svd->customer_factors.rows(), 6);
  ASSERT_EQ(svd->customer_factors.cols(), 4);
  ASSERT_EQ(svd->product_factors.rows(), 4);
  ASSERT_EQ(svd->product_factors.cols(), 4);
  const Eigen::MatrixXd reconstruction =
      (svd->customer_factors * svd->product_factors.transpose()).cast<double>();
  EXPECT_LT((reconstruction - r).cwiseAbs().maxCoeff(), 1e-4) << reconstruction;
}

TEST(SvdTest, RankOneTruncationIsBestRankOneApproximation) {
  const Eigen::MatrixXd r = SmallHoldings();
  const auto reference = Reference(r);
  ASSERT_GT(reference.singularValues()[0] - reference.singularValues()[1], 0.1)
      << "the best rank-1 approximation must be unique";
  const Eigen::MatrixXd best = reference.singularValues()[0] * reference.matrixU().col(0) *
                               reference.matrixV().col(0).transpose();
  auto svd = ComputeTruncatedSvd(ToHoldings(r), 1);
  ASSERT_TRUE(svd.ok()) << svd.status();
  ASSERT_EQ(svd->customer_factors.cols(), 1);
  ASSERT_EQ(svd->product_factors.cols(), 1);
  const Eigen::MatrixXd approximation =
      (svd->customer_factors * svd->product_factors.transpose()).cast<double>();
  EXPECT_LT((approximation - best).cwiseAbs().maxCoeff(), 1e-4);
}

TEST(SvdTest, ProductFactorsHaveOrthonormalColumns) {
  auto svd = ComputeTruncatedSvd(ToHoldings(SmallHoldings()), 3);
  ASSERT_TRUE(svd.ok()) << svd.status();
  const Eigen::MatrixXf gram = svd->product_factors.transpose() * svd->product_factors;
  EXPECT_LT((gram - Eigen::MatrixXf::Identity(3, 3)).cwiseAbs().maxCoeff(), 1e-5) << gram;
}

TEST(SvdTest, CustomerFactorsAreHoldingsTimesProductFactors) {
  const Eigen::MatrixXd r = SmallHoldings();
  auto svd = ComputeTruncatedSvd(ToHoldings(r), 2);
  ASSERT_TRUE(svd.ok()) << svd.status();
  const Eigen::MatrixXd folded = r * svd->product_factors.cast<double>();
  EXPECT_LT((svd->customer_factors.cast<double>() - folded).cwiseAbs().maxCoeff(), 1e-5);
}

TEST(SvdTest, SingularValuesAreDescending) {
  auto svd = ComputeTruncatedSvd(ToHoldings(SmallHoldings()), 4);
  ASSERT_TRUE(svd.ok()) << svd.status();
  for (int k = 1; k < 4; ++k) EXPECT_GE(svd->singular_values[k - 1], svd->singular_values[k]);
}

TEST(SvdTest, SameInputGivesIdenticalFactors) {
  auto first = ComputeTruncatedSvd(ToHoldings(SmallHoldings()), 3);
  auto second = ComputeTruncatedSvd(ToHoldings(SmallHoldings()), 3);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->product_factors, second->product_factors);
  EXPECT_EQ(first->customer_factors, second->customer_factors);
}

TEST(SvdTest, LargeCatalogueRecoversExactLowRankStructure) {
  // Above 512 products the randomised path runs. Four disjoint groups of
  // customers each hold their own disjoint block of products, so the matrix
  // has rank 4 with singular values sqrt(customers * products) per block.
  const int group_customers[] = {100, 150, 200, 350};
  const int group_products[] = {100, 120, 130, 170};
  std::vector<Eigen::Triplet<float, int64_t>> entries;
  std::vector<double> expected;
  int64_t first_customer = 0;
  int64_t first_product = 0;
  for (int g = 0; g < 4; ++g) {
    for (int64_t c = 0; c < group_customers[g]; ++c) {
      for (int64_t p = 0; p < group_products[g]; ++p) entries.emplace_back(first_customer + c, first_product + p, 1.0f);
    }
    expected.push_back(std::sqrt(static_cast<double>(group_customers[g]) * group_products[g]));
    first_customer += group_customers[g];
    first_product += group_products[g];
  }
  ASSERT_GT(first_product, 512);
  HoldingsMatrix matrix(first_customer, first_product);
  matrix.setFromTriplets(entries.begin(), entries.end());
  std::sort(expected.rbegin(), expected.rend());

  auto svd = ComputeTruncatedSvd(matrix, 4);
  ASSERT_TRUE(svd.ok()) << svd.status();
  for (int k = 0; k < 4; ++k) {
    EXPECT_NEAR(svd->singular_values[k], expected[static_cast<size_t>(k)], 1e-3 * expected[static_cast<size_t>(k)]);
  }
  const Eigen::MatrixXf gram = svd->product_factors.transpose() * svd->product_factors;
  EXPECT_LT((gram - Eigen::MatrixXf::Identity(4, 4)).cwiseAbs().maxCoeff(), 1e-4);
  const RowMajorMatrix reconstruction = svd->customer_factors * svd->product_factors.transpose();
  EXPECT_LT((reconstruction - Eigen::MatrixXf(matrix.toDense())).cwiseAbs().maxCoeff(), 1e-3);
}

TEST(SvdTest, RefusesRankZero) {
  auto svd = ComputeTruncatedSvd(ToHoldings(SmallHoldings()), 0);
  ASSERT_FALSE(svd.ok());
  EXPECT_EQ(svd.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(svd.status().message(), HasSubstr("rank 0"));
}

TEST(SvdTest, RefusesRankAboveNumberOfProducts) {
  auto svd = ComputeTruncatedSvd(ToHoldings(SmallHoldings()), 5);
  ASSERT_FALSE(svd.ok());
  EXPECT_EQ(svd.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(svd.status().message(), HasSubstr("rank 5"));
}

}  // namespace
}  // namespace easymoney
