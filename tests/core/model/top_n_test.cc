#include "core/model/top_n.h"

#include <cstdint>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace easymoney {
namespace {

// The selected indices, in order.
std::vector<int32_t> Indices(const std::vector<ScoredIndex>& selected) {
  std::vector<int32_t> indices;
  for (const ScoredIndex& s : selected) indices.push_back(s.index);
  return indices;
}

TEST(TopNTest, ReturnsBestFirstWithTheirScores) {
  const std::vector<float> scores = {0.1f, 0.9f, 0.5f, 0.7f, 0.3f};
  const std::vector<ScoredIndex> top = SelectTopN(scores, {}, 3);
  EXPECT_EQ(Indices(top), (std::vector<int32_t>{1, 3, 2}));
  ASSERT_EQ(top.size(), 3u);
  EXPECT_EQ(top[0].score, 0.9f);
  EXPECT_EQ(top[1].score, 0.7f);
  EXPECT_EQ(top[2].score, 0.5f);
}

TEST(TopNTest, SkipsExcludedIndices) {
  const std::vector<float> scores = {0.1f, 0.9f, 0.5f, 0.7f, 0.3f};
  const std::vector<uint8_t> excluded = {0, 1, 0, 1, 0};
  EXPECT_EQ(Indices(SelectTopN(scores, excluded, 3)), (std::vector<int32_t>{2, 4, 0}));
}

TEST(TopNTest, BreaksTiesByLowerIndex) {
  const std::vector<float> scores = {1.0f, 2.0f, 1.0f, 2.0f, 1.0f, 2.0f};
  EXPECT_EQ(Indices(SelectTopN(scores, {}, 6)), (std::vector<int32_t>{1, 3, 5, 0, 2, 4}));
  // Also when the tie straddles the cut-off: the lower index stays in.
  EXPECT_EQ(Indices(SelectTopN(scores, {}, 2)), (std::vector<int32_t>{1, 3}));
  EXPECT_EQ(Indices(SelectTopN(scores, {}, 4)), (std::vector<int32_t>{1, 3, 5, 0}));
}

TEST(TopNTest, BreaksTiesByLowerIndexWhenLaterIndexArrivesFirstInHeap) {
  // The equal scores at 4 and 1 must still come out 1 before 4 after the
  // heap has evicted entries in between.
  const std::vector<float> scores = {0.0f, 5.0f, 1.0f, 2.0f, 5.0f, 3.0f, 5.0f};
  EXPECT_EQ(Indices(SelectTopN(scores, {}, 2)), (std::vector<int32_t>{1, 4}));
}

TEST(TopNTest, ReturnsAllRemainingCandidatesWhenNExceedsThem) {
  const std::vector<float> scores = {0.2f, 0.4f, 0.3f, 0.1f};
  const std::vector<uint8_t> excluded = {0, 1, 0, 0};
  EXPECT_EQ(Indices(SelectTopN(scores, excluded, 10)), (std::vector<int32_t>{2, 0, 3}));
}

TEST(TopNTest, ZeroRequestedReturnsNothing) {
  const std::vector<float> scores = {0.2f, 0.4f};
  EXPECT_TRUE(SelectTopN(scores, {}, 0).empty());
}

TEST(TopNTest, EmptyExclusionSpanExcludesNothing) {
  const std::vector<float> scores = {0.2f, 0.4f, 0.3f};
  EXPECT_EQ(Indices(SelectTopN(scores, std::span<const uint8_t>(), 3)), (std::vector<int32_t>{1, 2, 0}));
}

TEST(TopNTest, EverythingExcludedReturnsNothing) {
  const std::vector<float> scores = {0.2f, 0.4f};
  const std::vector<uint8_t> excluded = {1, 1};
  EXPECT_TRUE(SelectTopN(scores, excluded, 2).empty());
}

}  // namespace
}  // namespace easymoney
