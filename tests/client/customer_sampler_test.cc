#include "client/customer_sampler.h"

#include <map>
#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace easymoney {
namespace {

CustomerSampler::Options Range(int64_t first_id, int64_t last_id, double zipf_exponent = 0) {
  CustomerSampler::Options options;
  options.first_id = first_id;
  options.last_id = last_id;
  options.zipf_exponent = zipf_exponent;
  return options;
}

TEST(CustomerSamplerTest, UniformRangeDrawsEveryIdInsideTheRangeOnly) {
  auto sampler = CustomerSampler::Create(Range(100, 109));
  ASSERT_TRUE(sampler.ok()) << sampler.status();
  std::mt19937_64 random(1);
  std::set<int64_t> seen;
  for (int i = 0; i < 1000; ++i) seen.insert((*sampler)->Next(random));
  EXPECT_EQ(seen.size(), 10u);
  EXPECT_EQ(*seen.begin(), 100);
  EXPECT_EQ(*seen.rbegin(), 109);
}

TEST(CustomerSamplerTest, DrawsOnlyTheListedIds) {
  auto sampler = CustomerSampler::Create({.customer_ids = {15889, 1375586, 1553689}, .zipf_exponent = 1.0});
  ASSERT_TRUE(sampler.ok()) << sampler.status();
  std::mt19937_64 random(1);
  for (int i = 0; i < 300; ++i) {
    EXPECT_THAT((*sampler)->Next(random), ::testing::AnyOf(15889, 1375586, 1553689));
  }
}

TEST(CustomerSamplerTest, ZipfMakesTheTopCustomerAboutAsFrequentAsTheLawSays) {
  // s = 1 over 1000 ids: P(rank 1) = 1 / H(1000) = 0.1336.
  auto sampler = CustomerSampler::Create(Range(1, 1000, 1.0));
  ASSERT_TRUE(sampler.ok()) << sampler.status();
  std::mt19937_64 random(3);
  std::map<int64_t, int> counts;
  constexpr int kDraws = 100000;
  for (int i = 0; i < kDraws; ++i) ++counts[(*sampler)->Next(random)];
  int top = 0;
  for (const auto& [id, count] : counts) top = std::max(top, count);
  EXPECT_NEAR(static_cast<double>(top) / kDraws, 0.1336, 0.01);
}

TEST(CustomerSamplerTest, RefusesEmptyRangesAndBadExponents) {
  EXPECT_EQ(CustomerSampler::Create(Range(5, 4)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CustomerSampler::Create(Range(1, 10, -1)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CustomerSampler::Create(Range(1, CustomerSampler::kMaxZipfCustomers + 1, 1.0))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace easymoney
