#include "core/cpu_shed_controller.h"

#include <cstdint>
#include <limits>

#include "gtest/gtest.h"

namespace easymoney {
namespace {

// Share of 100,000 evenly spread draws that ShouldShed refuses.
double RefusedShare(const CpuShedController& controller) {
  constexpr int kDraws = 100000;
  int refused = 0;
  for (int i = 0; i < kDraws; ++i) {
    refused += controller.ShouldShed(static_cast<uint32_t>((static_cast<uint64_t>(i) << 32) / kDraws)) ? 1 : 0;
  }
  return static_cast<double>(refused) / kDraws;
}

TEST(CpuShedControllerTest, RefusesNothingUntilTheCpuIsSaturated) {
  CpuShedController controller({});
  for (int i = 0; i < 50; ++i) controller.Observe(0.85, 0.9);
  EXPECT_EQ(controller.shed_share(), 0);
  EXPECT_EQ(RefusedShare(controller), 0);
}

TEST(CpuShedControllerTest, RefusesAGrowingShareWhileSaturatedByHandlerWork) {
  CpuShedController controller({});
  controller.Observe(1.0, 0.9);
  EXPECT_NEAR(controller.shed_share(), 0.1, 1e-6);
  controller.Observe(0.97, 0.9);
  controller.Observe(0.95, 0.9);
  EXPECT_NEAR(controller.shed_share(), 0.3, 1e-6);
  EXPECT_NEAR(RefusedShare(controller), 0.3, 0.001);
}

TEST(CpuShedControllerTest, NeverRefusesMoreThanTheMaximum) {
  CpuShedController controller({});
  for (int i = 0; i < 100; ++i) controller.Observe(1.0, 1.0);
  EXPECT_NEAR(controller.shed_share(), 0.9, 1e-6);
  EXPECT_NEAR(RefusedShare(controller), 0.9, 0.001);
}

TEST(CpuShedControllerTest, GivesCallsBackOnceTheCpuHasRoom) {
  CpuShedController controller({});
  for (int i = 0; i < 5; ++i) controller.Observe(1.0, 0.9);
  ASSERT_NEAR(controller.shed_share(), 0.5, 1e-6);
  controller.Observe(0.6, 0.9);
  EXPECT_NEAR(controller.shed_share(), 0.48, 1e-6);
  for (int i = 0; i < 100; ++i) controller.Observe(0.6, 0.9);
  EXPECT_EQ(controller.shed_share(), 0);
  EXPECT_EQ(RefusedShare(controller), 0);
}

// When a call is mostly the RPC framework's own work, refusing it costs
// about as much as answering it: the share must not grow.
TEST(CpuShedControllerTest, DoesNotShedWhenHandlerWorkIsASmallPartOfTheCpu) {
  CpuShedController controller({});
  for (int i = 0; i < 50; ++i) controller.Observe(1.0, 0.1);
  EXPECT_EQ(controller.shed_share(), 0);
  // And a share built up earlier is given back once that is so.
  for (int i = 0; i < 3; ++i) controller.Observe(1.0, 0.9);
  ASSERT_NEAR(controller.shed_share(), 0.3, 1e-6);
  controller.Observe(1.0, 0.2);
  EXPECT_NEAR(controller.shed_share(), 0.28, 1e-6);
}

TEST(CpuShedControllerTest, IgnoresNonFiniteSamples) {
  CpuShedController controller({});
  controller.Observe(1.0, 0.9);
  controller.Observe(std::numeric_limits<double>::quiet_NaN(), 0.9);
  controller.Observe(1.0, std::numeric_limits<double>::infinity());
  EXPECT_NEAR(controller.shed_share(), 0.1, 1e-6);
}

TEST(CpuShedControllerTest, OptionsSetTheThresholdsAndSteps) {
  CpuShedController::Options options;
  options.saturated_utilisation = 0.5;
  options.raise_step = 0.25;
  options.lower_step = 0.25;
  options.max_share = 0.5;
  options.min_work_share = 0;
  CpuShedController controller(options);
  controller.Observe(0.5, 0);
  EXPECT_NEAR(controller.shed_share(), 0.25, 1e-6);
  controller.Observe(0.9, 0);
  controller.Observe(0.9, 0);
  EXPECT_NEAR(controller.shed_share(), 0.5, 1e-6);
  controller.Observe(0.49, 0);
  EXPECT_NEAR(controller.shed_share(), 0.25, 1e-6);
}

}  // namespace
}  // namespace easymoney
