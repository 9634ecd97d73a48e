#include "client/latency_recorder.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace easymoney {
namespace {

TEST(LatencyRecorderTest, EmptyRecorderReportsZero) {
  LatencyRecorder latencies;
  EXPECT_EQ(latencies.count(), 0);
  EXPECT_EQ(latencies.Percentile(99), absl::ZeroDuration());
  EXPECT_EQ(latencies.max(), absl::ZeroDuration());
  EXPECT_EQ(latencies.min(), absl::ZeroDuration());
  EXPECT_EQ(latencies.mean(), absl::ZeroDuration());
}

TEST(LatencyRecorderTest, ValuesBelow256NanosecondsAreExact) {
  LatencyRecorder latencies;
  for (int nanoseconds = 1; nanoseconds <= 200; ++nanoseconds) latencies.Record(absl::Nanoseconds(nanoseconds));
  EXPECT_EQ(latencies.Percentile(50), absl::Nanoseconds(100));
  EXPECT_EQ(latencies.Percentile(99), absl::Nanoseconds(198));
  EXPECT_EQ(latencies.Percentile(0), absl::Nanoseconds(1));
}

TEST(LatencyRecorderTest, PercentilesAreAtMostOnePercentAboveTheExactValueAndNeverBelow) {
  std::mt19937_64 random(7);
  std::lognormal_distribution<double> microseconds(6.0, 1.5);  // Median ~400 us, long tail.
  std::vector<int64_t> exact;
  LatencyRecorder latencies;
  for (int i = 0; i < 100000; ++i) {
    const auto nanoseconds = static_cast<int64_t>(microseconds(random) * 1000);
    exact.push_back(nanoseconds);
    latencies.Record(absl::Nanoseconds(nanoseconds));
  }
  std::sort(exact.begin(), exact.end());
  for (double percent : {1.0, 50.0, 90.0, 99.0, 99.9, 99.99}) {
    const auto rank = static_cast<size_t>(std::ceil(percent / 100 * static_cast<double>(exact.size())));
    const int64_t expected = exact[rank - 1];
    const int64_t reported = absl::ToInt64Nanoseconds(latencies.Percentile(percent));
    EXPECT_GE(reported, expected) << "p" << percent;
    EXPECT_LE(static_cast<double>(reported), static_cast<double>(expected) * (1 + 1.0 / 128)) << "p" << percent;
  }
}

TEST(LatencyRecorderTest, ExtremesAndMeanAreExact) {
  LatencyRecorder latencies;
  latencies.Record(absl::Microseconds(300));
  latencies.Record(absl::Milliseconds(7) + absl::Nanoseconds(13));
  latencies.Record(absl::Microseconds(500));
  EXPECT_EQ(latencies.min(), absl::Microseconds(300));
  EXPECT_EQ(latencies.max(), absl::Milliseconds(7) + absl::Nanoseconds(13));
  EXPECT_EQ(latencies.Percentile(100), latencies.max());
  EXPECT_EQ(latencies.mean(), absl::Nanoseconds((300000 + 7000013 + 500000) / 3.0));
}

TEST(LatencyRecorderTest, HugeAndNegativeValuesAreRecordedWithoutOverflow) {
  LatencyRecorder latencies;
  latencies.Record(absl::Hours(1000000));
  latencies.Record(absl::Milliseconds(-5));
  EXPECT_EQ(latencies.count(), 2);
  EXPECT_EQ(latencies.min(), absl::ZeroDuration());
  EXPECT_EQ(latencies.Percentile(100), absl::Hours(1000000));
}

TEST(LatencyRecorderTest, MergeEqualsRecordingEverythingInOne) {
  LatencyRecorder first;
  LatencyRecorder second;
  LatencyRecorder all;
  for (int i = 1; i <= 1000; ++i) {
    (i % 3 == 0 ? first : second).Record(absl::Microseconds(i));
    all.Record(absl::Microseconds(i));
  }
  first.Merge(second);
  EXPECT_EQ(first.count(), all.count());
  EXPECT_EQ(first.min(), all.min());
  EXPECT_EQ(first.max(), all.max());
  for (double percent : {50.0, 99.0, 99.9}) EXPECT_EQ(first.Percentile(percent), all.Percentile(percent));
}

}  // namespace
}  // namespace easymoney
