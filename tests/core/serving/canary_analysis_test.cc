#include "core/serving/canary_analysis.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace easymoney {
namespace {

using ::testing::HasSubstr;
using ::testing::Optional;

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

TEST(WindowStatsTest, SummarisesRequestsErrorsAndP99PerVariant) {
  WindowStats stats;
  for (int i = 0; i < 98; ++i) stats.Record(Variant::kStable, false, 100e-6, kNow);
  stats.Record(Variant::kStable, true, 100e-6, kNow);
  stats.Record(Variant::kStable, false, 50e-3, kNow);  // One slow request in 100: p99 stays low.
  stats.Record(Variant::kCanary, false, 5e-3, kNow);

  const auto stable = stats.Summarise(Variant::kStable, absl::Seconds(60), kNow);
  EXPECT_EQ(stable.requests, 100);
  EXPECT_EQ(stable.server_errors, 1);
  EXPECT_DOUBLE_EQ(stable.error_ratio(), 0.01);
  // The p99 is the upper bound of the 100 us request's log bucket (+25%).
  EXPECT_GE(stable.p99_seconds, 100e-6);
  EXPECT_LE(stable.p99_seconds, 125e-6);
  const auto canary = stats.Summarise(Variant::kCanary, absl::Seconds(60), kNow);
  EXPECT_EQ(canary.requests, 1);
  EXPECT_GE(canary.p99_seconds, 5e-3);
}

TEST(WindowStatsTest, ForgetsSecondsOutsideTheWindow) {
  WindowStats stats;
  stats.Record(Variant::kStable, true, 1e-3, kNow - absl::Seconds(30));
  stats.Record(Variant::kStable, false, 1e-3, kNow);
  EXPECT_EQ(stats.Summarise(Variant::kStable, absl::Seconds(60), kNow).requests, 2);
  EXPECT_EQ(stats.Summarise(Variant::kStable, absl::Seconds(10), kNow).requests, 1);
  EXPECT_EQ(stats.Summarise(Variant::kStable, absl::Seconds(10), kNow).server_errors, 0);
  // A bucket reused a full cycle later starts from zero.
  stats.Record(Variant::kStable, false, 1e-3, kNow + absl::Seconds(WindowStats::kMaxWindowSeconds));
  EXPECT_EQ(stats.Summarise(Variant::kStable, absl::Seconds(1), kNow + absl::Seconds(WindowStats::kMaxWindowSeconds))
                .requests,
            1);
}

TEST(WindowStatsTest, ResetForgetsEverything) {
  WindowStats stats;
  stats.Record(Variant::kCanary, true, 1e-3, kNow);
  stats.Reset();
  EXPECT_EQ(stats.Summarise(Variant::kCanary, absl::Seconds(60), kNow).requests, 0);
}

WindowStats::WindowSummary Summary(int64_t requests, int64_t errors, double p99) {
  WindowStats::WindowSummary summary;
  summary.requests = requests;
  summary.server_errors = errors;
  summary.p99_seconds = p99;
  return summary;
}

TEST(CanaryVerdictTest, NoVerdictWithoutEnoughTraffic) {
  easymoney::model::v1::CanaryAnalysis settings;
  EXPECT_EQ(CanaryVerdict(Summary(1000, 0, 1e-4), Summary(99, 99, 1.0), settings), std::nullopt);
}

TEST(CanaryVerdictTest, RollsBackWhenTheCanaryErrorsMore) {
  easymoney::model::v1::CanaryAnalysis settings;
  EXPECT_EQ(CanaryVerdict(Summary(1000, 10, 1e-4), Summary(1000, 15, 1e-4), settings), std::nullopt);
  EXPECT_THAT(CanaryVerdict(Summary(1000, 10, 1e-4), Summary(1000, 30, 1e-4), settings),
              Optional(HasSubstr("server-error ratio 0.0300 exceeds stable 0.0100")));
}

TEST(CanaryVerdictTest, RollsBackWhenTheCanaryIsSlowerBeyondRatioAndFloor) {
  easymoney::model::v1::CanaryAnalysis settings;
  // 3x slower but only 0.2 ms apart: below the default 1 ms floor.
  EXPECT_EQ(CanaryVerdict(Summary(1000, 0, 1e-4), Summary(1000, 0, 3e-4), settings), std::nullopt);
  EXPECT_THAT(CanaryVerdict(Summary(1000, 0, 1e-3), Summary(1000, 0, 4e-3), settings),
              Optional(HasSubstr("canary p99 4.000 ms exceeds 1.50x stable p99 1.000 ms")));
  settings.set_max_p99_ratio(5);
  EXPECT_EQ(CanaryVerdict(Summary(1000, 0, 1e-3), Summary(1000, 0, 4e-3), settings), std::nullopt);
}

}  // namespace
}  // namespace easymoney
