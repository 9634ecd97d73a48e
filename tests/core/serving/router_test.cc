#include "core/serving/router.h"

#include <cmath>
#include <set>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace easymoney {
namespace {

using ::testing::HasSubstr;
using easymoney::model::v1::RoutingConfig;

RoutingChange Canary(int64_t version, double percent) {
  RoutingChange change;
  change.canary_version = version;
  change.canary_percent = percent;
  return change;
}

TEST(RouterTest, StartingARolloutPinsTheServingStable) {
  const absl::StatusOr<RoutingConfig> next = ChangedRouting({}, Canary(3, 10), /*serving_stable=*/2);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->stable_version(), 2);
  EXPECT_EQ(next->canary_version(), 3);
  EXPECT_EQ(next->canary_percent(), 10);
}

TEST(RouterTest, ANamedStableAndTheReturnToThePolicy) {
  RoutingChange change = Canary(3, 10);
  change.stable_version = 1;
  EXPECT_EQ(ChangedRouting({}, change, 2)->stable_version(), 1);
  RoutingConfig pinned;
  pinned.set_stable_version(4);
  RoutingChange back;
  back.stable_version = -1;
  EXPECT_EQ(ChangedRouting(pinned, back, 4)->stable_version(), 0);
}

TEST(RouterTest, EndingTheRolloutClearsItsPercentAndKeepsTheSalt) {
  RoutingConfig config;
  config.set_stable_version(2);
  config.set_canary_version(3);
  config.set_canary_percent(10);
  config.set_salt("s1");
  RoutingChange end;
  end.canary_percent = 50;  // Ignored without a canary.
  const absl::StatusOr<RoutingConfig> next = ChangedRouting(config, end, 2);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->canary_version(), 0);
  EXPECT_EQ(next->canary_percent(), 0);
  EXPECT_EQ(next->salt(), "s1");
  EXPECT_EQ(next->stable_version(), 2);
}

TEST(RouterTest, RefusesPercentsOutsideTheRangeAndNegativeVersions) {
  for (double percent : {-1.0, 100.5, std::nan("")}) {
    EXPECT_TRUE(absl::IsInvalidArgument(ChangedRouting({}, Canary(3, percent), 2).status())) << percent;
  }
  RoutingChange shadow;
  shadow.shadow_version = 4;
  shadow.shadow_percent = 101;
  EXPECT_THAT(ChangedRouting({}, shadow, 2).status().message(), HasSubstr("shadow_percent 101 is outside 0..100"));
  RoutingChange negative;
  negative.canary_version = -2;
  EXPECT_TRUE(absl::IsInvalidArgument(ChangedRouting({}, negative, 2).status()));
}

TEST(RouterTest, PromotionPinsTheCanaryAndEndsTheRollout) {
  RoutingConfig config;
  config.set_stable_version(2);
  config.set_canary_version(3);
  config.set_canary_percent(10);
  const RoutingConfig next = PromotedRouting(config, 3);
  EXPECT_EQ(next.stable_version(), 3);
  EXPECT_EQ(next.canary_version(), 0);
  EXPECT_EQ(next.canary_percent(), 0);
}

TEST(RouterTest, AbandoningRecordsTheReasonWithItsTime) {
  RoutingConfig config;
  config.set_canary_version(3);
  config.set_canary_percent(10);
  const RoutingConfig next =
      AbandonedRouting(config, 2, 3, "error rate 5% vs 0%", absl::FromUnixSeconds(1767225600));  // 2026-01-01.
  EXPECT_EQ(next.stable_version(), 2);
  EXPECT_EQ(next.canary_version(), 0);
  EXPECT_EQ(next.last_auto_rollback(), "2026-01-01T00:00:00Z: canary 3 rolled back: error rate 5% vs 0%");
}

TEST(RouterTest, RollbackPinsTheGivenStable) {
  RoutingConfig config;
  config.set_stable_version(5);
  EXPECT_EQ(RolledBackRouting(config, 4).stable_version(), 4);
}

TEST(RouterTest, RoutesOnlyLoadedVersionsOtherThanTheStable) {
  RoutingConfig config;
  config.set_canary_version(3);
  config.set_shadow_version(4);
  RoutedVersions routed = Route(config, 2, {2, 3, 4});
  EXPECT_EQ(routed.stable, 2);
  EXPECT_EQ(routed.canary, 3);
  EXPECT_EQ(routed.shadow, 4);
  routed = Route(config, 2, {2, 4});  // The canary is not loaded.
  EXPECT_EQ(routed.canary, 0);
  EXPECT_EQ(routed.shadow, 4);
  routed = Route(config, 3, {2, 3, 4});  // The canary is the stable.
  EXPECT_EQ(routed.canary, 0);
  EXPECT_EQ(Route(config, 0, {3, 4}).canary, 0) << "nothing routes without a stable";
}

}  // namespace
}  // namespace easymoney
