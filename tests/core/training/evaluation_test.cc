#include "core/training/evaluation.h"

#include <cmath>
#include <cstdint>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace easymoney {
namespace {

using ::testing::DoubleEq;
using ::testing::DoubleNear;

// Six products whose scores rank them 5, 1, 2, 4, 3, 0.
const std::vector<float> kRanking512 = {0.1f, 0.8f, 0.7f, 0.2f, 0.3f, 0.9f};
// The customer acquired products 2 and 5: hits at ranks 1 and 3.
const std::vector<int32_t> kRelevant25 = {5, 2};

RankingMetrics OneCustomer(int k, const std::vector<float>& scores, const std::vector<uint8_t>& excluded,
                           const std::vector<int32_t>& relevant) {
  RankingEvaluator evaluator(k, static_cast<int>(scores.size()));
  evaluator.Add(scores, excluded, relevant);
  return evaluator.Result();
}

TEST(RankingEvaluatorTest, AveragePrecisionAveragesPrecisionAtEachHit) {
  // Hits at ranks 1 and 3: P@1 = 1/1, P@3 = 2/3, over min(|rel|, k) = 2.
  const RankingMetrics m = OneCustomer(/*k=*/4, kRanking512, {}, kRelevant25);
  EXPECT_THAT(m.map, DoubleEq((1.0 / 1 + 2.0 / 3) / 2));
  EXPECT_THAT(m.map_relevant, DoubleEq((1.0 / 1 + 2.0 / 3) / 2));
}

TEST(RankingEvaluatorTest, PrecisionDividesHitsByKNotByRankedProducts) {
  const RankingMetrics m = OneCustomer(/*k=*/4, kRanking512, {}, kRelevant25);
  EXPECT_THAT(m.precision, DoubleEq(2.0 / 4));
}

TEST(RankingEvaluatorTest, RecallIsOneWhenEveryRelevantProductIsInTheTopK) {
  const RankingMetrics m = OneCustomer(/*k=*/4, kRanking512, {}, kRelevant25);
  EXPECT_THAT(m.recall, DoubleEq(1.0));
}

TEST(RankingEvaluatorTest, RecallCountsRelevantProductsBelowTheCutOffAsMissed) {
  // k = 2 keeps ranks 1 (product 5, a hit) and 2 (product 1, a miss).
  const RankingMetrics m = OneCustomer(/*k=*/2, kRanking512, {}, kRelevant25);
  EXPECT_THAT(m.recall, DoubleEq(1.0 / 2));
  EXPECT_THAT(m.map, DoubleEq(1.0 / 2));
}

TEST(RankingEvaluatorTest, NdcgUsesBinaryGainsAndTheIdealOrder) {
  // DCG = 1/log2(2) + 1/log2(4); ideal = 1/log2(2) + 1/log2(3).
  const RankingMetrics m = OneCustomer(/*k=*/4, kRanking512, {}, kRelevant25);
  EXPECT_THAT(m.ndcg, DoubleNear((1.0 + 0.5) / (1.0 + 1.0 / std::log2(3.0)), 1e-12));
  EXPECT_THAT(m.ndcg, DoubleNear(0.919721, 1e-6));
}

TEST(RankingEvaluatorTest, HitRateIsTheShareOfRelevantCustomersWithAHit) {
  RankingEvaluator evaluator(/*k=*/1, 6);
  evaluator.Add(kRanking512, {}, std::vector<int32_t>{5});  // Rank 1: a hit.
  evaluator.Add(kRanking512, {}, std::vector<int32_t>{2});  // Rank 3: missed at k = 1.
  EXPECT_THAT(evaluator.Result().hit_rate, DoubleEq(0.5));
}

TEST(RankingEvaluatorTest, CustomersWithoutRelevantProductsCountAsZeroInMapOnly) {
  RankingEvaluator evaluator(/*k=*/4, 6);
  evaluator.Add(kRanking512, {}, kRelevant25);
  evaluator.Add(kRanking512, {}, {});
  const RankingMetrics m = evaluator.Result();
  const double ap = (1.0 / 1 + 2.0 / 3) / 2;
  EXPECT_EQ(m.customers, 2);
  EXPECT_EQ(m.relevant_customers, 1);
  EXPECT_THAT(m.map, DoubleEq(ap / 2));
  EXPECT_THAT(m.map_relevant, DoubleEq(ap));
  EXPECT_THAT(m.map_full_normaliser, DoubleEq(ap));
  EXPECT_THAT(m.precision, DoubleEq(2.0 / 4));
  EXPECT_THAT(m.recall, DoubleEq(1.0));
  EXPECT_THAT(m.hit_rate, DoubleEq(1.0));
}

TEST(RankingEvaluatorTest, FullNormaliserDividesByAllRelevantProductsNotByK) {
  // 15 products, 12 relevant (0..11) and ranked first: every one of the
  // top 7 is a hit, so AP = 7 / min(12, 7) = 1 but 7 / 12 with |rel|.
  std::vector<float> scores(15);
  for (int p = 0; p < 15; ++p) scores[p] = static_cast<float>(15 - p);
  std::vector<int32_t> relevant;
  for (int32_t p = 0; p < 12; ++p) relevant.push_back(p);
  const RankingMetrics m = OneCustomer(/*k=*/7, scores, {}, relevant);
  EXPECT_THAT(m.map, DoubleEq(1.0));
  EXPECT_THAT(m.map_full_normaliser, DoubleEq(7.0 / 12));
  EXPECT_THAT(m.ndcg, DoubleEq(1.0));
  EXPECT_THAT(m.recall, DoubleEq(7.0 / 12));
}

TEST(RankingEvaluatorTest, ExcludedProductIsSkippedAndTheNextOneTakesItsRank) {
  // Product 5 scores highest but is excluded, so product 1 is ranked first.
  std::vector<uint8_t> excluded(6, 0);
  excluded[5] = 1;
  const RankingMetrics m = OneCustomer(/*k=*/1, kRanking512, excluded, std::vector<int32_t>{1});
  EXPECT_THAT(m.map, DoubleEq(1.0));
  EXPECT_THAT(m.hit_rate, DoubleEq(1.0));
}

TEST(RankingEvaluatorTest, ExcludedProductNeverCountsAsAHitOrAsRecommended) {
  // Product 5 is relevant but excluded (e.g. already held): no hit, and it
  // does not add to coverage; only product 1 was recommended.
  std::vector<uint8_t> excluded(6, 0);
  excluded[5] = 1;
  const RankingMetrics m = OneCustomer(/*k=*/1, kRanking512, excluded, std::vector<int32_t>{5});
  EXPECT_THAT(m.hit_rate, DoubleEq(0.0));
  EXPECT_THAT(m.map, DoubleEq(0.0));
  EXPECT_THAT(m.coverage, DoubleEq(1.0 / 6));
}

TEST(RankingEvaluatorTest, CoverageCountsDistinctProductsRecommendedToAnyCustomer) {
  RankingEvaluator evaluator(/*k=*/1, 5);
  // None of them has a relevant product; coverage still counts them.
  evaluator.Add(std::vector<float>{1, 0, 0, 0, 0}, {}, {});  // Recommends 0.
  evaluator.Add(std::vector<float>{0, 0, 1, 0, 0}, {}, {});  // Recommends 2.
  evaluator.Add(std::vector<float>{1, 0, 0, 0, 0}, {}, {});  // 0 again.
  const RankingMetrics m = evaluator.Result();
  EXPECT_THAT(m.coverage, DoubleEq(2.0 / 5));
  EXPECT_EQ(m.relevant_customers, 0);
}

TEST(RankingEvaluatorTest, TiedScoresAreRankedByLowerProductIndex) {
  // All equal: the ranking is 0, 1, 2, so product 0 is a hit at rank 1 and
  // product 2 at rank 3. Higher-index-first would give 1/3 and 1.
  const std::vector<float> ties = {0.5f, 0.5f, 0.5f};
  EXPECT_THAT(OneCustomer(/*k=*/3, ties, {}, std::vector<int32_t>{0}).map, DoubleEq(1.0));
  EXPECT_THAT(OneCustomer(/*k=*/3, ties, {}, std::vector<int32_t>{2}).map, DoubleEq(1.0 / 3));
}

TEST(RankingEvaluatorTest, MergingTwoEvaluatorsEqualsAddingAllCustomersToOne) {
  struct Customer {
    std::vector<float> scores;
    std::vector<uint8_t> excluded;
    std::vector<int32_t> relevant;
  };
  const std::vector<Customer> customers = {
      {kRanking512, {}, kRelevant25},
      {kRanking512, {0, 0, 0, 0, 0, 1}, {3}},
      {{0.2f, 0.1f, 0.4f, 0.3f, 0.0f, 0.6f}, {}, {}},
      {{0.9f, 0.1f, 0.4f, 0.3f, 0.0f, 0.6f}, {}, {4, 1}},
      {{0.0f, 0.0f, 0.0f, 0.0f, 1.0f, 0.0f}, {1, 0, 0, 0, 0, 0}, {4}},
  };
  RankingEvaluator all(/*k=*/3, 6);
  RankingEvaluator first(/*k=*/3, 6);
  RankingEvaluator second(/*k=*/3, 6);
  for (size_t i = 0; i < customers.size(); ++i) {
    const Customer& c = customers[i];
    all.Add(c.scores, c.excluded, c.relevant);
    (i < 2 ? first : second).Add(c.scores, c.excluded, c.relevant);
  }
  first.Merge(second);
  const RankingMetrics merged = first.Result();
  const RankingMetrics expected = all.Result();
  EXPECT_EQ(merged.k, expected.k);
  EXPECT_EQ(merged.customers, 5);
  EXPECT_EQ(merged.customers, expected.customers);
  EXPECT_EQ(merged.relevant_customers, expected.relevant_customers);
  EXPECT_THAT(merged.map, DoubleNear(expected.map, 1e-12));
  EXPECT_THAT(merged.map_relevant, DoubleNear(expected.map_relevant, 1e-12));
  EXPECT_THAT(merged.map_full_normaliser, DoubleNear(expected.map_full_normaliser, 1e-12));
  EXPECT_THAT(merged.precision, DoubleNear(expected.precision, 1e-12));
  EXPECT_THAT(merged.recall, DoubleNear(expected.recall, 1e-12));
  EXPECT_THAT(merged.ndcg, DoubleNear(expected.ndcg, 1e-12));
  EXPECT_THAT(merged.hit_rate, DoubleNear(expected.hit_rate, 1e-12));
  EXPECT_THAT(merged.coverage, DoubleEq(expected.coverage));
  // Neither half alone recommended every product (first: 1, 2, 4, 5;
  // second: 0, 2, 3, 4, 5); the merge takes the union.
  EXPECT_THAT(merged.coverage, DoubleEq(1.0));
}

TEST(RankingEvaluatorTest, EmptyEvaluatorReportsZerosWithoutDividingByZero) {
  const RankingMetrics m = RankingEvaluator(/*k=*/7, 15).Result();
  EXPECT_EQ(m.k, 7);
  EXPECT_EQ(m.customers, 0);
  EXPECT_THAT(m.map, DoubleEq(0.0));
  EXPECT_THAT(m.map_relevant, DoubleEq(0.0));
  EXPECT_THAT(m.coverage, DoubleEq(0.0));
}

}  // namespace
}  // namespace easymoney
