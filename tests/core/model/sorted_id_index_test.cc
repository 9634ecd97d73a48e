#include "core/model/sorted_id_index.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <set>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace easymoney {
namespace {

using ::testing::Eq;
using ::testing::Optional;

// What Find must agree with: the binary search over the whole array.
std::optional<int64_t> Reference(const std::vector<int64_t>& ids, int64_t id) {
  const auto it = std::lower_bound(ids.begin(), ids.end(), id);
  if (it == ids.end() || *it != id) return std::nullopt;
  return it - ids.begin();
}

// Every id, both neighbours of every id, and the extremes of int64.
void ExpectAgreesWithBinarySearch(const std::vector<int64_t>& ids) {
  const SortedIdIndex index(ids);
  std::vector<int64_t> probes = {std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(), 0, -1, 1};
  for (int64_t id : ids) {
    probes.push_back(id);
    if (id != std::numeric_limits<int64_t>::min()) probes.push_back(id - 1);
    if (id != std::numeric_limits<int64_t>::max()) probes.push_back(id + 1);
  }
  for (int64_t probe : probes) {
    ASSERT_EQ(index.Find(probe), Reference(ids, probe)) << "id " << probe;
  }
}

std::vector<int64_t> RandomSortedIds(size_t count, int64_t low, int64_t high, uint64_t seed) {
  std::mt19937_64 random(seed);
  std::uniform_int_distribution<int64_t> draw(low, high);
  std::set<int64_t> ids;
  while (ids.size() < count) ids.insert(draw(random));
  return {ids.begin(), ids.end()};
}

TEST(SortedIdIndexTest, FindsEveryIdOfAnEasyMoneyLikeRange) {
  // easyMoney's ncodpers: a few hundred thousand ids between 15,889 and 1.55M.
  const std::vector<int64_t> ids = RandomSortedIds(50000, 15889, 1553689, 1);
  ExpectAgreesWithBinarySearch(ids);
  const SortedIdIndex index(ids);
  EXPECT_THAT(index.Find(ids.front()), Optional(Eq(0)));
  EXPECT_THAT(index.Find(ids.back()), Optional(Eq(static_cast<int64_t>(ids.size()) - 1)));
}

TEST(SortedIdIndexTest, DenseIds) {
  std::vector<int64_t> ids(10000);
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int64_t>(i) + 1;
  ExpectAgreesWithBinarySearch(ids);
}

TEST(SortedIdIndexTest, UnevenlySpreadIdsStillFound) {
  // Most ids packed at the bottom, a few far away: buckets are very uneven.
  std::vector<int64_t> ids = RandomSortedIds(5000, 1, 100000, 2);
  for (int64_t far : {int64_t{1} << 40, int64_t{1} << 50, std::numeric_limits<int64_t>::max() - 1}) ids.push_back(far);
  ExpectAgreesWithBinarySearch(ids);
}

TEST(SortedIdIndexTest, TheWholeInt64Range) {
  ExpectAgreesWithBinarySearch(
      {std::numeric_limits<int64_t>::min(), -5, 0, 7, std::numeric_limits<int64_t>::max()});
  ExpectAgreesWithBinarySearch(RandomSortedIds(2000, std::numeric_limits<int64_t>::min(),
                                               std::numeric_limits<int64_t>::max(), 3));
}

TEST(SortedIdIndexTest, EmptyAndSingleId) {
  const SortedIdIndex empty(std::span<const int64_t>{});
  EXPECT_EQ(empty.Find(1), std::nullopt);
  EXPECT_EQ(empty.table_bytes(), 0u);
  ExpectAgreesWithBinarySearch({42});
}

TEST(SortedIdIndexTest, TableIsAboutHalfAByteACustomer) {
  const std::vector<int64_t> ids = RandomSortedIds(80000, 15889, 1553689, 4);
  const SortedIdIndex index(ids);
  EXPECT_GT(index.table_bytes(), 0u);
  EXPECT_LE(index.table_bytes(), ids.size() / 2 + 2 * sizeof(uint32_t));
}

}  // namespace
}  // namespace easymoney
