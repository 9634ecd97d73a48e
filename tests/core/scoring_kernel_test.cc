#include "core/scoring_kernel.h"

#include <random>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/top_n.h"

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
