#include "core/model/scoring_kernel.h"

#include <algorithm>
#include <limits>
#include <random>
#include <span>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/model/top_n.h"

namespace easymoney {
namespace {

RowMajorMatrix RandomMatrix(int64_t rows, int cols, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> uniform(-1, 1);
  RowMajorMatrix m(rows, cols);
  for (int64_t r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) m(r, c) = uniform(rng);
  }
  return m;
}

std::vector<float> RandomVector(size_t size, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> uniform(-1, 1);
  std::vector<float> v(size);
  for (float& x : v) x = uniform(rng);
  return v;
}

std::vector<int32_t> Indices(const TopNList& list) {
  std::vector<int32_t> out;
  for (const ScoredIndex& s : list) out.push_back(s.index);
  return out;
}

// Sizes around the panel (16) and group (64) boundaries, and factor counts
// that are not multiples of anything.
class ScoringKernelTest : public ::testing::TestWithParam<std::tuple<int64_t, int>> {};

TEST_P(ScoringKernelTest, ScoresMatchADoublePrecisionDotProduct) {
  const auto [rows, cols] = GetParam();
  const RowMajorMatrix v = RandomMatrix(rows, cols, 1);
  const std::vector<float> u = RandomVector(static_cast<size_t>(cols), 2);
  const std::vector<float> bias = RandomVector(static_cast<size_t>(rows), 3);
  const PackedFactors packed(v);
  ASSERT_EQ(packed.rows(), rows);
  ASSERT_EQ(packed.cols(), cols);
  std::vector<float> scores(static_cast<size_t>(rows), -99.0f);
  ScoreAll(packed, u, bias, scores);
  for (int64_t r = 0; r < rows; ++r) {
    double expected = bias[r];
    for (int c = 0; c < cols; ++c) expected += static_cast<double>(v(r, c)) * u[c];
    EXPECT_NEAR(scores[r], expected, 1e-4 * (1 + cols)) << "row " << r;
  }
}

TEST_P(ScoringKernelTest, FusedTopNEqualsScoreAllThenSelect) {
  const auto [rows, cols] = GetParam();
  const RowMajorMatrix v = RandomMatrix(rows, cols, 4);
  const std::vector<float> u = RandomVector(static_cast<size_t>(cols), 5);
  const std::vector<float> bias = RandomVector(static_cast<size_t>(rows), 6);
  std::vector<uint8_t> excluded(static_cast<size_t>(rows), 0);
  for (int64_t r = 0; r < rows; r += 3) excluded[r] = 1;
  const PackedFactors packed(v);
  std::vector<float> scores(static_cast<size_t>(rows));
  ScoreAll(packed, u, bias, scores);
  for (int n : {1, 5, 10, 40}) {
    const std::vector<ScoredIndex> expected = SelectTopN(scores, excluded, n);
    TopNList fused;
    TopNScores(packed, u, bias, excluded, n, fused);
    ASSERT_EQ(fused.size(), expected.size()) << "n=" << n;
    for (size_t i = 0; i < expected.size(); ++i) {
      EXPECT_EQ(fused[i].index, expected[i].index) << "n=" << n << " rank " << i;
      EXPECT_EQ(fused[i].score, expected[i].score) << "n=" << n << " rank " << i;
    }
  }
}

TEST_P(ScoringKernelTest, BatchEqualsOneQueryAtATime) {
  const auto [rows, cols] = GetParam();
  const RowMajorMatrix v = RandomMatrix(rows, cols, 7);
  const std::vector<float> bias = RandomVector(static_cast<size_t>(rows), 8);
  const PackedFactors packed(v);
  constexpr int kBatch = 9;
  const std::vector<float> users = RandomVector(static_cast<size_t>(kBatch * cols), 9);
  std::vector<TopNList> batch(kBatch);
  TopNScoresBatch(packed, users, bias, 7, batch);
  for (int b = 0; b < kBatch; ++b) {
    TopNList single;
    TopNScores(packed, std::span<const float>(users).subspan(static_cast<size_t>(b * cols), cols), bias, {}, 7,
               single);
    ASSERT_EQ(batch[b].size(), single.size());
    for (size_t i = 0; i < single.size(); ++i) {
      EXPECT_EQ(batch[b][i].index, single[i].index);
      EXPECT_EQ(batch[b][i].score, single[i].score);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, ScoringKernelTest,
                         ::testing::Combine(::testing::Values(1, 15, 16, 17, 63, 64, 65, 200, 1000),
                                            ::testing::Values(1, 3, 16, 32, 33, 128)));

// The batch path scores blocks of several customers x several panels (6 x 4
// with AVX-512, 6 x 1 with AVX2, 3 x 1 baseline) and handles the leftover
// customers and panels with smaller blocks; batch sizes 1..13 and these
// catalogue sizes reach every block shape and the partial last panel. The
// same tests cover the narrower versions when run with
// EASYMONEY_SCORING_ISA=avx2 or =baseline in the environment.
constexpr int kOddRows[] = {1, 5, 16, 17, 63, 64, 65, 100, 129};
constexpr int kTopNs[] = {0, 1, 7, 70, 200};

class ScoringKernelBatchTest : public ::testing::TestWithParam<std::tuple<int, int>> {};

TEST_P(ScoringKernelBatchTest, EqualsOneQueryAtATimeExactly) {
  const auto [batch_size, cols] = GetParam();
  const std::vector<float> users = RandomVector(static_cast<size_t>(batch_size * cols), 11);
  for (int rows : kOddRows) {
    const RowMajorMatrix v = RandomMatrix(rows, cols, 12);
    const PackedFactors packed(v);
    const std::vector<float> bias = RandomVector(static_cast<size_t>(rows), 13);
    for (bool with_bias : {true, false}) {
      const std::span<const float> used_bias = with_bias ? std::span<const float>(bias) : std::span<const float>();
      for (int n : kTopNs) {
        std::vector<TopNList> batch(static_cast<size_t>(batch_size));
        TopNScoresBatch(packed, users, used_bias, n, batch);
        for (int b = 0; b < batch_size; ++b) {
          TopNList single;
          TopNScores(packed, std::span<const float>(users).subspan(static_cast<size_t>(b * cols), cols), used_bias, {},
                     n, single);
          ASSERT_EQ(batch[b].size(), single.size()) << "rows=" << rows << " n=" << n << " customer " << b;
          for (size_t i = 0; i < single.size(); ++i) {
            EXPECT_EQ(batch[b][i].index, single[i].index) << "rows=" << rows << " n=" << n << " customer " << b;
            EXPECT_EQ(batch[b][i].score, single[i].score) << "rows=" << rows << " n=" << n << " customer " << b;
          }
        }
      }
    }
  }
}

TEST_P(ScoringKernelBatchTest, MatchesANaiveDoublePrecisionRanking) {
  const auto [batch_size, cols] = GetParam();
  const std::vector<float> users = RandomVector(static_cast<size_t>(batch_size * cols), 14);
  const double tolerance = 1e-4 * (1 + cols);
  for (int rows : kOddRows) {
    const RowMajorMatrix v = RandomMatrix(rows, cols, 15);
    const PackedFactors packed(v);
    const std::vector<float> bias = RandomVector(static_cast<size_t>(rows), 16);
    for (int n : kTopNs) {
      std::vector<TopNList> batch(static_cast<size_t>(batch_size));
      TopNScoresBatch(packed, users, bias, n, batch);
      for (int b = 0; b < batch_size; ++b) {
        std::vector<double> naive(static_cast<size_t>(rows));
        for (int r = 0; r < rows; ++r) {
          naive[r] = bias[r];
          for (int c = 0; c < cols; ++c) naive[r] += static_cast<double>(v(r, c)) * users[b * cols + c];
        }
        const TopNList& top = batch[b];
        ASSERT_EQ(top.size(), static_cast<size_t>(std::min(n, rows))) << "rows=" << rows << " n=" << n;
        std::vector<bool> returned(static_cast<size_t>(rows), false);
        for (size_t i = 0; i < top.size(); ++i) {
          ASSERT_GE(top[i].index, 0);
          ASSERT_LT(top[i].index, rows);
          EXPECT_FALSE(returned[top[i].index]) << "index " << top[i].index << " returned twice";
          returned[top[i].index] = true;
          EXPECT_NEAR(top[i].score, naive[top[i].index], tolerance) << "rows=" << rows << " rank " << i;
          if (i > 0) {
            EXPECT_TRUE(RanksBefore(top[i - 1], top[i])) << "rows=" << rows << " rank " << i;
          }
        }
        if (top.empty()) continue;
        // Nothing left out scores clearly above the last one kept.
        const double last_kept = naive[top.back().index];
        for (int r = 0; r < rows; ++r) {
          if (!returned[r]) {
            EXPECT_LE(naive[r], last_kept + 2 * tolerance) << "rows=" << rows << " product " << r;
          }
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(OddSizes, ScoringKernelBatchTest,
                         ::testing::Combine(::testing::Range(1, 14),
                                            ::testing::Values(1, 2, 3, 7, 16, 17, 31, 33, 64, 65, 127, 128, 129,
                                                              130)));

TEST(ScoringKernel, BatchBreaksTiesByLowerIndexAcrossBlocks) {
  // Ten distinct products repeated over 150, so every score recurs in other
  // panels and blocks, and identical customers in different blocks.
  const RowMajorMatrix distinct = RandomMatrix(10, 5, 17);
  RowMajorMatrix v(150, 5);
  for (int r = 0; r < 150; ++r) v.row(r) = distinct.row(r % 10);
  const PackedFactors packed(v);
  std::vector<float> users = RandomVector(13 * 5, 18);
  for (int c = 0; c < 5; ++c) users[12 * 5 + c] = users[c];  // Customer 12 = customer 0.
  std::vector<TopNList> batch(13);
  TopNScoresBatch(packed, users, {}, 25, batch);
  for (int b = 0; b < 13; ++b) {
    std::vector<float> scores(150);
    ScoreAll(packed, std::span<const float>(users).subspan(static_cast<size_t>(b * 5), 5), {}, scores);
    const std::vector<ScoredIndex> expected = SelectTopN(scores, {}, 25);
    ASSERT_EQ(batch[b].size(), expected.size());
    for (size_t i = 0; i < expected.size(); ++i) {
      EXPECT_EQ(batch[b][i].index, expected[i].index) << "customer " << b << " rank " << i;
      EXPECT_EQ(batch[b][i].score, expected[i].score) << "customer " << b << " rank " << i;
    }
  }
  EXPECT_EQ(Indices(batch[12]), Indices(batch[0]));
  // All products equal: the lowest indices, for every customer.
  v.setConstant(0.5f);
  const PackedFactors equal(v);
  TopNScoresBatch(equal, users, {}, 4, batch);
  for (int b = 0; b < 13; ++b) EXPECT_EQ(Indices(batch[b]), (std::vector<int32_t>{0, 1, 2, 3})) << "customer " << b;
}

TEST(ScoringKernel, TiesGoToTheLowerIndexAcrossPanelBoundaries) {
  // Every product identical: the n lowest indices win, in order, even
  // though they lie in different panels and groups.
  RowMajorMatrix v(150, 4);
  v.setConstant(0.5f);
  const PackedFactors packed(v);
  const std::vector<float> u = {1, 2, 3, 4};
  std::vector<uint8_t> excluded(150, 0);
  excluded[0] = 1;
  excluded[16] = 1;
  TopNList top;
  TopNScores(packed, u, {}, excluded, 4, top);
  EXPECT_EQ(Indices(top), (std::vector<int32_t>{1, 2, 3, 4}));
  // A later product that is strictly better still wins.
  v(140, 0) = 9;
  const PackedFactors better(v);
  TopNScores(better, u, {}, excluded, 2, top);
  EXPECT_EQ(Indices(top), (std::vector<int32_t>{140, 1}));
}

TEST(ScoringKernel, OnePanelCatalogueRanksLikeOfferingProductsOneByOne) {
  // A catalogue of one panel (16 products or fewer, the easyMoney case) is
  // ranked at once rather than offered product by product; both must agree
  // on ties, exclusions and the scores that never enter (NaN, -inf).
  constexpr float kInf = std::numeric_limits<float>::infinity();
  for (int rows : {1, 2, 15, 16}) {
    // Scores (r % 4) * 0.25 - 0.5 x 0.5 + bias: four values, each tied, one
    // of them exactly 0 (rows 1, 5, 9, 13); infinities, NaN and a huge
    // finite score from the bias.
    RowMajorMatrix v(rows, 2);
    for (int r = 0; r < rows; ++r) {
      v(r, 0) = static_cast<float>(r % 4) * 0.25f;
      v(r, 1) = -0.5f;
    }
    const PackedFactors packed(v);
    const std::vector<float> u = {1, 0.5f};
    std::vector<float> bias(static_cast<size_t>(rows), 0);
    const std::vector<std::pair<int, float>> specials = {
        {2, std::numeric_limits<float>::quiet_NaN()},  // Never enters.
        {6, -kInf},                                    // Never enters.
        {4, kInf},                                     // Two tied +inf: rows 4 then 12.
        {12, kInf},
        {14, 1e30f},  // Finite, above every dot product.
    };
    for (const auto& [r, b] : specials) {
      if (r < rows) bias[r] = b;
    }
    std::vector<uint8_t> excluded(static_cast<size_t>(rows), 0);
    for (int r = 3; r < rows; r += 7) excluded[r] = 1;
    std::vector<float> scores(static_cast<size_t>(rows));
    ScoreAll(packed, u, bias, scores);
    for (int n : {1, 3, 10, 16, 20, 64, 65}) {
      TopNList expected;
      SelectTopNInto(scores, excluded, n, expected);
      TopNList ranked;
      TopNScores(packed, u, bias, excluded, n, ranked);
      ASSERT_EQ(ranked.size(), expected.size()) << "rows=" << rows << " n=" << n;
      for (size_t i = 0; i < expected.size(); ++i) {
        EXPECT_EQ(ranked[i].index, expected[i].index) << "rows=" << rows << " n=" << n << " rank " << i;
        EXPECT_EQ(ranked[i].score, expected[i].score) << "rows=" << rows << " n=" << n << " rank " << i;
      }
      // Nothing excluded, NaN or -inf is ever returned.
      for (const ScoredIndex& s : ranked) {
        EXPECT_EQ(excluded[s.index], 0);
        EXPECT_GT(s.score, -kInf);
      }
    }
    if (rows == 16) {
      // Worked by hand: the tied infinities in index order, the huge score,
      // then the 0.5s (r % 4 == 3, row 3 excluded), ...; 16 - NaN - -inf -
      // 2 excluded = 12 usable.
      TopNList top;
      TopNScores(packed, u, bias, excluded, 5, top);
      EXPECT_EQ(Indices(top), (std::vector<int32_t>{4, 12, 14, 7, 11}));
      TopNScores(packed, u, bias, excluded, 16, top);
      EXPECT_EQ(top.size(), 12u);
    }
  }
}

TEST(ScoringKernel, ReturnsFewerWhenFewerRemainAndNothingForZero) {
  const RowMajorMatrix v = RandomMatrix(5, 3, 10);
  const PackedFactors packed(v);
  const std::vector<float> u = {1, 1, 1};
  std::vector<uint8_t> excluded = {1, 0, 1, 0, 1};
  TopNList top;
  TopNScores(packed, u, {}, excluded, 5, top);
  EXPECT_THAT(Indices(top), ::testing::UnorderedElementsAre(1, 3));
  TopNScores(packed, u, {}, excluded, 0, top);
  EXPECT_TRUE(top.empty());
}

TEST(ScoringKernel, BiasIsAddedAfterTheDotProduct) {
  RowMajorMatrix v(3, 2);
  v << 1, 0, 0, 1, 0, 0;
  const PackedFactors packed(v);
  const std::vector<float> u = {2, 1};
  const std::vector<float> bias = ProductScoreBias(std::vector<float>{0.0f, 0.5f, 3.0f}, 2.0f);
  EXPECT_THAT(bias, ::testing::ElementsAre(0.0f, 1.0f, 6.0f));
  std::vector<float> scores(3);
  ScoreAll(packed, u, bias, scores);
  EXPECT_THAT(scores, ::testing::ElementsAre(2.0f, 2.0f, 6.0f));
  EXPECT_TRUE(ProductScoreBias(std::vector<float>{1.0f}, 0.0f).empty());
}

TEST(ScoringKernel, SelectTopNIntoMatchesSelectTopN) {
  const std::vector<float> scores = {0.1f, 0.9f, 0.9f, -1.0f, 0.5f};
  const std::vector<uint8_t> excluded = {0, 0, 0, 0, 1};
  TopNList into;
  SelectTopNInto(scores, excluded, 3, into);
  const std::vector<ScoredIndex> expected = SelectTopN(scores, excluded, 3);
  ASSERT_EQ(into.size(), expected.size());
  for (size_t i = 0; i < into.size(); ++i) EXPECT_EQ(into[i].index, expected[i].index);
}

}  // namespace
}  // namespace easymoney
