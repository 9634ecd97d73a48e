#include "core/cpu_shed_controller.h"

#include <algorithm>
#include <cstdint>
#include <limits>

#include "core/shed_advice.h"
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

// Advice to clients (shed_advice.h): the share of their demand beyond what
// the CPU answers when nothing is refused here. 2,000 calls of 50 + 10 us at
// 95% of the CPU: the 90% target answers 0.09 s / 60 us = 1,500 calls, so
// clients are advised to refuse 25% while the server itself refuses 30% of
// what reaches it (its refusals cost it 10 us each).
TEST(CpuShedControllerTest, AdvisesClientsToRefuseTheDemandTheCpuCannotAnswer) {
  CpuShedController controller({});
  EXPECT_EQ(controller.advised_share(), 0);
  controller.Observe(Sample(2000, 1500, 50, 10));
  EXPECT_NEAR(controller.advised_share(), 0.25, 0.002);
  EXPECT_NEAR(controller.shed_share(), 0.3, 0.002);
}

TEST(CpuShedControllerTest, AdvisesNothingWhileTheCallsFit) {
  CpuShedController controller({});
  // 70% of the CPU, and clients report twice the calls that arrive.
  Window window = Sample(1000, 1000, 50, 20);
  window.demand = 2000;
  for (int i = 0; i < 20; ++i) controller.Observe(window);
  EXPECT_EQ(controller.advised_share(), 0);
}

// Clients already refusing half their calls on the advice: 1,000 calls
// arrive (each reporting 0.5, so the demand is 2,000), all are answered at
// 50 + 40.1 us, just over the 90% target. The advice holds at about
// 1 - 1,000 / 2,000 instead of reading the clients' restraint as the
// overload's end, and the server refuses nothing itself.
Window FollowedAdvice() {
  Window window = Sample(1000, 1000, 50, 40.1);
  window.demand = 2000;
  return window;
}

TEST(CpuShedControllerTest, HoldsTheAdviceWhileClientsFollowIt) {
  CpuShedController controller({});
  const Window window = FollowedAdvice();
  for (int i = 0; i < 10; ++i) controller.Observe(window);
  EXPECT_NEAR(controller.advised_share(), 0.5, 0.002);
  EXPECT_EQ(controller.shed_share(), 0);
}

// While clients follow the advice (their reports put the demand above the
// calls that arrive), a window over the target but not full is the noise of
// the arrivals, and the server refuses nothing; a full window is a backlog,
// refused here as before. The same window without reports is shed.
TEST(CpuShedControllerTest, LeavesTheExcessToClientsFollowingTheAdvice) {
  CpuShedController controller({});
  Window over = Sample(2000, 1500, 50, 10);  // 95%: 30% shed without advice.
  over.demand = 4000;
  controller.Observe(over);
  ASSERT_GT(controller.advised_share(), 0);
  EXPECT_NEAR(controller.shed_share(), 0.3, 0.002) << "no advice was out during this window";
  for (int i = 0; i < 10; ++i) controller.Observe(over);
  EXPECT_EQ(controller.shed_share(), 0);
  EXPECT_GT(controller.advised_share(), 0.5);

  Window full = Sample(1500, 1500, 50, 50.0 / 3);  // 100%: 40% shed (LeavesRoomToDrain...).
  full.demand = 3000;
  controller.Observe(full);
  EXPECT_NEAR(controller.shed_share(), 0.4, 0.002);

  CpuShedController unadvised({});
  for (int i = 0; i < 10; ++i) unadvised.Observe(Sample(2000, 1500, 50, 10));
  EXPECT_NEAR(unadvised.shed_share(), 0.3, 0.002);
}

// A call that is mostly gRPC's own work is not worth refusing at the
// server, but a refusal at the client saves all of it. A full window of
// 2,000 calls of 10 + 40 us: the drain target, 70%, answers 1,400.
TEST(CpuShedControllerTest, AdvisesEvenWhenRefusingHereWouldNotPay) {
  CpuShedController controller({});
  controller.Observe(Sample(2000, 2000, 10, 40));
  EXPECT_EQ(controller.shed_share(), 0);
  EXPECT_NEAR(controller.advised_share(), 0.3, 0.002);
}

TEST(CpuShedControllerTest, WithdrawsTheAdviceByHalvesOnceTheDemandFits) {
  CpuShedController controller({});
  controller.Observe(FollowedAdvice());
  ASSERT_NEAR(controller.advised_share(), 0.5, 0.002);
  controller.Observe(Sample(500, 500, 50, 40));  // Demand 500: fits.
  EXPECT_NEAR(controller.advised_share(), 0.25, 0.002);
  for (int i = 0; i < 20; ++i) controller.Observe(Sample(500, 500, 50, 40));
  EXPECT_EQ(controller.advised_share(), 0);
}

TEST(CpuShedControllerTest, NeverAdvisesMoreThanTheMaximum) {
  CpuShedController controller({});
  Window window = FollowedAdvice();
  window.demand = 1e9;
  controller.Observe(window);
  EXPECT_NEAR(controller.advised_share(), 0.9, 1e-9);
  window.demand = std::numeric_limits<double>::infinity();
  controller.Observe(window);  // Ignored.
  EXPECT_NEAR(controller.advised_share(), 0.9, 1e-9);
}

// One server, one CPU, windows of 100 ms; an answer costs 250 us of handler
// work and every call (answered or refused) 50 us of gRPC's, so the CPU
// answers 333 calls a window at most. Clients want twice that. Returns the
// answered share of that maximum over the last 20 of 60 windows, and the
// controller's shares at the end.
struct Simulated {
  double answered_share;
  double shed_share;
  double advised_share;
};
Simulated SimulateTwiceTheSaturatingLoad(bool clients_follow_advice) {
  constexpr double kWork = 250e-6;
  constexpr double kOverhead = 50e-6;
  constexpr double kWindow = 0.1;
  const double maximum = kWindow / (kWork + kOverhead);
  const double demand = 2 * maximum;
  CpuShedController controller({});
  double answered_late = 0;
  for (int i = 0; i < 60; ++i) {
    // What the clients saw of the last window's advice.
    const double held_back = clients_follow_advice ? controller.advised_share() : 0;
    const double arriving = demand * (1 - held_back);
    const double let_through = arriving * (1 - controller.shed_share());
    // The CPU refuses first (cheap), then answers what the rest of the
    // window allows.
    const double refusing = (arriving - let_through) * kOverhead;
    const double answered = std::min(let_through, std::max(0.0, kWindow - refusing) / (kWork + kOverhead));
    Window window;
    window.seconds = kWindow;
    window.cpus = 1;
    window.calls = static_cast<int64_t>(arriving);
    window.admitted = static_cast<int64_t>(answered);
    window.work_seconds = answered * kWork;
    window.cpu_seconds = std::min(kWindow, refusing + answered * (kWork + kOverhead));
    window.demand = arriving * DemandWeight(held_back);
    controller.Observe(window);
    if (i >= 40) answered_late += answered;
  }
  return {answered_late / 20 / maximum, controller.shed_share(), controller.advised_share()};
}

// The point of the advice: at twice the saturating load the server answers
// near its maximum (the 90% target) when clients refuse the advised share,
// and well under it when they leave every refusal to the server.
TEST(CpuShedControllerTest, ClientsFollowingTheAdviceKeepTheAnswersNearTheMaximum) {
  const Simulated following = SimulateTwiceTheSaturatingLoad(true);
  EXPECT_GT(following.answered_share, 0.85);
  EXPECT_LT(following.shed_share, 0.02);
  // 1 - 0.9 x 333 / 667.
  EXPECT_NEAR(following.advised_share, 0.55, 0.02);
  const Simulated ignoring = SimulateTwiceTheSaturatingLoad(false);
  EXPECT_LT(ignoring.answered_share, 0.75);
  EXPECT_GT(ignoring.shed_share, 0.4);
}

}  // namespace
}  // namespace easymoney
