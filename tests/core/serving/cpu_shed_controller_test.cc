#include "core/serving/cpu_shed_controller.h"

#include <algorithm>
#include <cstdint>
#include <limits>

#include "gtest/gtest.h"

namespace easymoney {
namespace {

using Window = CpuShedController::Window;

// Share of 100,000 evenly spread draws that ShouldShed refuses.
double RefusedShare(const CpuShedController& controller) {
  constexpr int kDraws = 100000;
  int refused = 0;
  for (int i = 0; i < kDraws; ++i) {
    refused += controller.ShouldShed(static_cast<uint32_t>((static_cast<uint64_t>(i) << 32) / kDraws)) ? 1 : 0;
  }
  return static_cast<double>(refused) / kDraws;
}

// A 100 ms window on one CPU in which `calls` calls reached the handlers and
// `admitted` were answered, each answer costing `work_us` of handler work and
// every call `overhead_us` of everything else.
Window Sample(int64_t calls, int64_t admitted, double work_us, double overhead_us) {
  Window window;
  window.seconds = 0.1;
  window.cpus = 1;
  window.work_seconds = static_cast<double>(admitted) * work_us * 1e-6;
  window.cpu_seconds = std::min(0.1, window.work_seconds + static_cast<double>(calls) * overhead_us * 1e-6);
  window.calls = calls;
  window.admitted = admitted;
  return window;
}

TEST(CpuShedControllerTest, RefusesNothingWhileTheCallsFit) {
  CpuShedController controller({});
  // 1,000 calls of 50 + 20 us: 70% of the CPU.
  for (int i = 0; i < 20; ++i) controller.Observe(Sample(1000, 1000, 50, 20));
  EXPECT_EQ(controller.shed_share(), 0);
  EXPECT_EQ(RefusedShare(controller), 0);
}

// Over the target but not full: 2,000 calls reached the handlers and 1,500
// were answered, 0.075 s of work (50 us each) plus 0.02 s of overhead (10 us
// a call), 95% of the CPU. The 90% target affords 0.09 - 0.02 = 0.07 s of
// answers, 1,400 of the 2,000 calls: 30% are refused.
TEST(CpuShedControllerTest, RefusesTheShareTheCpuCannotAffordToAnswer) {
  CpuShedController controller({});
  controller.Observe(Sample(2000, 1500, 50, 10));
  EXPECT_NEAR(controller.shed_share(), 0.3, 0.002);
  EXPECT_NEAR(RefusedShare(controller), 0.3, 0.003);
}

// A window that used the whole CPU had a backlog: its share leaves room to
// drain it (70% of the CPU for the calls instead of 90%). 1,500 calls of
// 50 us + 16.7 us fill 0.1 s; 0.07 - 0.025 s affords 900 answers.
TEST(CpuShedControllerTest, LeavesRoomToDrainABacklogAfterAFullWindow) {
  CpuShedController controller({});
  controller.Observe(Sample(1500, 1500, 50, 50.0 / 3));
  EXPECT_NEAR(controller.shed_share(), 600.0 / 1500, 0.002);
}

// Far more than the CPU can answer: 3,000 calls of 20 us overhead take
// 0.06 s, leaving 0.03 s of the 0.09 s target for 600 answers of 50 us (the
// first window answered 700 and was over the target). With that share
// refused the window is at the target, so the share holds instead of
// climbing further.
TEST(CpuShedControllerTest, HoldsTheShareThatKeepsTheCpuAtItsTarget) {
  CpuShedController controller({});
  controller.Observe(Sample(3000, 700, 50, 20));
  const double share = controller.shed_share();
  EXPECT_NEAR(share, 0.8, 0.002);
  for (int i = 0; i < 10; ++i) controller.Observe(Sample(3000, 600, 50, 20));
  EXPECT_NEAR(controller.shed_share(), share, 0.002);
}

TEST(CpuShedControllerTest, NeverRefusesMoreThanTheMaximum) {
  CpuShedController controller({});
  controller.Observe(Sample(100000, 100000, 100, 1));
  EXPECT_NEAR(controller.shed_share(), 0.9, 1e-6);
  EXPECT_NEAR(RefusedShare(controller), 0.9, 0.001);
}

TEST(CpuShedControllerTest, GivesCallsBackByHalvesOnceTheyFit) {
  CpuShedController controller({});
  controller.Observe(Sample(3000, 700, 50, 20));
  ASSERT_NEAR(controller.shed_share(), 0.8, 0.002);
  controller.Observe(Sample(500, 100, 50, 20));  // The overload is over.
  EXPECT_NEAR(controller.shed_share(), 0.4, 0.002);
  for (int i = 0; i < 20; ++i) controller.Observe(Sample(500, 500, 50, 20));
  EXPECT_EQ(controller.shed_share(), 0);
  EXPECT_EQ(RefusedShare(controller), 0);
}

// When a call is mostly the RPC framework's own work, refusing it costs
// about as much as answering it: nothing is refused.
TEST(CpuShedControllerTest, DoesNotShedWhenHandlerWorkIsASmallPartOfTheCpu) {
  CpuShedController controller({});
  for (int i = 0; i < 20; ++i) controller.Observe(Sample(5000, 5000, 2, 30));
  EXPECT_EQ(controller.shed_share(), 0);
}

TEST(CpuShedControllerTest, IgnoresEmptyAndNonFiniteWindows) {
  CpuShedController controller({});
  controller.Observe(Sample(3000, 700, 50, 20));
  const double share = controller.shed_share();
  Window nan = Sample(3000, 600, 50, 20);
  nan.cpu_seconds = std::numeric_limits<double>::quiet_NaN();
  controller.Observe(nan);
  EXPECT_EQ(controller.shed_share(), share);
  // Every call refused: no answer to price, so the share holds.
  controller.Observe(Sample(3000, 0, 50, 20));
  EXPECT_EQ(controller.shed_share(), share);
  // No call at all: nothing to refuse.
  controller.Observe(Window{});
  EXPECT_NEAR(controller.shed_share(), share / 2, 0.002);
}

TEST(CpuShedControllerTest, TheTargetSetsHowMuchOfTheCpuAnswersMayUse) {
  CpuShedController::Options options;
  options.target_utilisation = 0.5;
  CpuShedController controller(options);
  // 1,000 calls in 70% of the CPU (not full): 0.02 s overhead, so 0.03 s
  // for 600 answers of 50 us.
  controller.Observe(Sample(1000, 1000, 50, 20));
  EXPECT_NEAR(controller.shed_share(), 0.4, 0.002);
}

}  // namespace
}  // namespace easymoney
