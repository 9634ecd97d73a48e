#include "server/sharded_histogram.h"

#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

namespace easymoney {
namespace {

TEST(ShardedHistogram, CountsEveryObservationFromManyThreads) {
  ShardedHistogramFamily family("latency_seconds", "help", {0.001, 0.01});
  ShardedHistogramFamily::Series* series = family.Add({{"variant", "stable"}});
  constexpr int kThreads = 8;
  constexpr int kPerThread = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([series, t] {
      for (int i = 0; i < kPerThread; ++i) series->Observe(t % 2 == 0 ? 0.0005 : 0.005);
    });
  }
  for (auto& thread : threads) thread.join();
  const auto families = family.Collect();
  ASSERT_EQ(families.size(), 1u);
  ASSERT_EQ(families[0].metric.size(), 1u);
  const auto& histogram = families[0].metric[0].histogram;
  EXPECT_EQ(histogram.sample_count, uint64_t{kThreads} * kPerThread);
  ASSERT_EQ(histogram.bucket.size(), 3u);
  EXPECT_EQ(histogram.bucket[0].cumulative_count, uint64_t{kThreads / 2} * kPerThread);
  EXPECT_EQ(histogram.bucket[1].cumulative_count, uint64_t{kThreads} * kPerThread);
  EXPECT_EQ(histogram.bucket[2].cumulative_count, uint64_t{kThreads} * kPerThread);
  EXPECT_NEAR(histogram.sample_sum, kPerThread * (kThreads / 2) * (0.0005 + 0.005), 1e-6);
  EXPECT_EQ(families[0].metric[0].label[0].name, "variant");
}

TEST(ShardedHistogram, UpperBoundsAreInclusiveAndRemovedSeriesDisappear) {
  ShardedHistogramFamily family("latency_seconds", "help", {0.001});
  ShardedHistogramFamily::Series* a = family.Add({{"v", "a"}});
  ShardedHistogramFamily::Series* b = family.Add({{"v", "b"}});
  a->Observe(0.001);  // Exactly on the bound: counted in it, as Prometheus defines "le".
  a->Observe(0.0011);
  b->Observe(2.0);
  auto families = family.Collect();
  ASSERT_EQ(families[0].metric.size(), 2u);
  EXPECT_EQ(families[0].metric[0].histogram.bucket[0].cumulative_count, 1u);
  EXPECT_EQ(families[0].metric[0].histogram.bucket[1].cumulative_count, 2u);
  family.Remove(a);
  families = family.Collect();
  ASSERT_EQ(families[0].metric.size(), 1u);
  EXPECT_EQ(families[0].metric[0].label[0].value, "b");
  const std::string text = prometheus::TextSerializer().Serialize(families);
  EXPECT_NE(text.find("latency_seconds_bucket{v=\"b\",le=\"+Inf\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("latency_seconds_count{v=\"b\"} 1"), std::string::npos) << text;
}

}  // namespace
}  // namespace easymoney
