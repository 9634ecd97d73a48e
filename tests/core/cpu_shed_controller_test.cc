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

// Sizing the advice on the queueing delay the clients report. Each test
// starts from the advice of HoldsTheAdviceWhileClientsFollowIt (0.5, a
// demand of 2,000 calls a window, 1,000 arriving) and then hands the
// controller windows in which `delayed` of the arriving calls' reports say
// their queue exceeds the 3 ms target.
// Those over 50 ms too when the mean is.
Window Reported(Window window, int64_t delayed, double mean_delay) {
  window.delay_reports = window.calls;
  window.delayed_reports = delayed;
  window.long_delayed_reports = mean_delay > 0.05 ? delayed : 0;
  window.queue_delay = mean_delay;
  return window;
}
void AdviseHalf(CpuShedController& controller) { controller.Observe(FollowedAdvice()); }

// A queue: the server answers as fast as it can, so the calls it admitted
// are its capacity, and the rate let in becomes 95% of it. 1,000 admitted
// of a demand of 2,000: 1 - 950 / 2,000.
TEST(CpuShedControllerTest, SizesTheAdviceOnTheAnswersWhileTheClientsReportAQueue) {
  CpuShedController controller({});
  AdviseHalf(controller);
  ASSERT_NEAR(controller.advised_share(), 0.5, 0.002);
  controller.Observe(Reported(FollowedAdvice(), 1000, 0.004));  // Enters: the rate the advice let in.
  EXPECT_TRUE(controller.sizing_on_delay());
  EXPECT_NEAR(controller.advised_share(), 0.5, 0.002);
  controller.Observe(Reported(FollowedAdvice(), 1000, 0.004));
  EXPECT_NEAR(controller.advised_share(), 1 - 950.0 / 2000, 0.002);
  EXPECT_EQ(controller.shed_share(), 0);
}

// No queue: the rate grows by 3% a window, whatever the CPU reads (here
// over its target), so the answers climb to where the queue begins.
TEST(CpuShedControllerTest, LetsMoreCallsInWhileNoQueueIsReported) {
  CpuShedController controller({});
  AdviseHalf(controller);
  controller.Observe(Reported(FollowedAdvice(), 0, 0.0005));  // Enters at 1,000 a window.
  ASSERT_NEAR(controller.advised_share(), 0.5, 0.002);
  double rate = 1000;
  for (int i = 0; i < 10; ++i) {
    controller.Observe(Reported(FollowedAdvice(), 0, 0.0005));
    rate *= 1.03;
    EXPECT_NEAR(controller.advised_share(), 1 - rate / 2000, 0.002) << "window " << i;
  }
  EXPECT_EQ(controller.shed_share(), 0);
}

// The queue counts as formed only when most reports say so: a few clients
// claiming a long delay (lying, or behind a slow link of their own) move the
// mean but hold nobody back.
TEST(CpuShedControllerTest, AMinorityReportingDelayIsNotAQueue) {
  CpuShedController controller({});
  AdviseHalf(controller);
  controller.Observe(Reported(FollowedAdvice(), 400, 10.0));
  controller.Observe(Reported(FollowedAdvice(), 400, 10.0));
  EXPECT_NEAR(controller.advised_share(), 1 - 1030.0 / 2000, 0.002);
  EXPECT_EQ(controller.shed_share(), 0);
}

// While the advice holds the queue, the server refuses nothing itself even
// on full windows; only a queue over 50 ms in most reports (clients ignoring
// the advice, or too many of them) is refused here, at the CPU-sized share.
TEST(CpuShedControllerTest, RefusesHereOnlyAQueueTheAdviceDoesNotHold) {
  CpuShedController controller({});
  AdviseHalf(controller);
  Window full = Sample(1500, 1500, 50, 50.0 / 3);  // 100%: 40% shed without reports.
  full.demand = 3000;
  controller.Observe(Reported(full, 1500, 0.02));
  controller.Observe(Reported(full, 1500, 0.02));
  EXPECT_TRUE(controller.sizing_on_delay());
  EXPECT_EQ(controller.shed_share(), 0);
  Window liars = Reported(full, 1500, 0.02);
  liars.long_delayed_reports = 700;  // Of 1,500: a minority.
  liars.queue_delay = 60;
  controller.Observe(liars);
  EXPECT_EQ(controller.shed_share(), 0);
  controller.Observe(Reported(full, 1500, 0.08));
  EXPECT_NEAR(controller.shed_share(), 0.4, 0.002);
  EXPECT_NEAR(controller.advised_share(), 1 - 0.95 * 1500 / 3000, 0.01);
}

// Calls queue at this server only while its CPU is busy: delays reported
// while it reads 50% are the clients' own (a client short of CPU, a slow
// network). The rate goes at once to what the CPU's headroom affords,
// 1,000 answers x 0.9 / 0.5, so an overload's end gives the calls back
// within a few windows.
TEST(CpuShedControllerTest, DelaysReportedWhileTheCpuIsIdleAreNotAQueueHere) {
  CpuShedController controller({});
  AdviseHalf(controller);
  Window idle = Sample(1000, 1000, 30, 20);  // 50%.
  idle.demand = 2000;
  controller.Observe(Reported(idle, 1000, 0.01));
  controller.Observe(Reported(idle, 1000, 0.01));
  EXPECT_NEAR(controller.advised_share(), 1 - 1800.0 / 2000, 0.002);
}

// Clients that ignore the advice report nothing and refuse nothing: the
// reporting clients refuse for them too. 1,000 calls arrive, 500 of them
// unreported; the 500 reporting ones stand for a demand of 1,000 under the
// advice of 0.5. Entering at 950 a window (0.95 of the answers), the
// reporting clients may send 950 - 500 of their 1,000.
TEST(CpuShedControllerTest, TheReportingClientsRefuseForThoseThatReportNothing) {
  CpuShedController controller({});
  AdviseHalf(controller);
  Window mixed = FollowedAdvice();
  mixed.demand = 1500;
  mixed.delay_reports = 500;
  controller.Observe(mixed);
  EXPECT_NEAR(controller.advised_share(), 1 - 450.0 / 1000, 0.002);
  controller.Observe(mixed);
  EXPECT_NEAR(controller.advised_share(), 1 - (950 * 1.03 - 500) / 1000, 0.002);
}

// The CPU-sized advice can start far too deep; entering, the rate is at
// least what the server answered (95% of it), not only what that advice
// let in. 1,500 answered of a demand of 2,000, under the advice of 0.5.
TEST(CpuShedControllerTest, StartsFromWhatTheServerAnswered) {
  CpuShedController controller({});
  AdviseHalf(controller);
  Window answered = Sample(1500, 1500, 50, 10);  // 90%.
  answered.demand = 2000;
  controller.Observe(Reported(answered, 0, 0.001));
  EXPECT_TRUE(controller.sizing_on_delay());
  EXPECT_NEAR(controller.advised_share(), 1 - 0.95 * 1500 / 2000, 0.002);
}

// Once everything fits, the least advice (0.001) stays while the CPU reads
// over its target, so the clients go on reporting their delay instead of
// the CPU-sized controller coming back; under the target it goes.
TEST(CpuShedControllerTest, KeepsTheLeastAdviceWhileTheCpuReadsOverItsTarget) {
  CpuShedController controller({});
  AdviseHalf(controller);
  Window fitting = Sample(1000, 1000, 50, 45);  // 95%, demand 1,000.
  for (int i = 0; i < 60; ++i) controller.Observe(Reported(fitting, 0, 0.0005));
  EXPECT_TRUE(controller.sizing_on_delay());
  EXPECT_NEAR(controller.advised_share(), 0.001, 1e-9);
  EXPECT_EQ(FormatShare(controller.advised_share()), "0.001");
  EXPECT_EQ(controller.shed_share(), 0);

  controller.Observe(Reported(Sample(800, 800, 50, 45), 0, 0.0005));  // 76%.
  EXPECT_EQ(controller.advised_share(), 0);
  controller.Observe(Sample(800, 800, 50, 45));
  EXPECT_FALSE(controller.sizing_on_delay());
  EXPECT_EQ(controller.advised_share(), 0);
}

// Too few reports (clients that do not follow the advice report nothing):
// the CPU reading sizes the advice, as before.
TEST(CpuShedControllerTest, TooFewDelayReportsLeaveTheCpuInCharge) {
  CpuShedController controller({});
  AdviseHalf(controller);
  Window window = FollowedAdvice();
  window.delay_reports = 19;
  window.delayed_reports = 19;
  window.queue_delay = 0.1;
  for (int i = 0; i < 10; ++i) controller.Observe(window);
  EXPECT_FALSE(controller.sizing_on_delay());
  EXPECT_NEAR(controller.advised_share(), 0.5, 0.002);
}

// The reports thin out as the advice rises; once the delay sizes the advice,
// a quarter of min_delay_reports a window keeps it so.
TEST(CpuShedControllerTest, FewerReportsKeepTheDelayInChargeOnceItIs) {
  CpuShedController controller({});
  AdviseHalf(controller);
  controller.Observe(Reported(FollowedAdvice(), 0, 0.001));
  ASSERT_TRUE(controller.sizing_on_delay());
  Window thin = FollowedAdvice();
  thin.delay_reports = 5;
  controller.Observe(thin);
  EXPECT_TRUE(controller.sizing_on_delay());
  thin.delay_reports = 4;
  controller.Observe(thin);
  EXPECT_FALSE(controller.sizing_on_delay());
}

// A server whose CPU reads full well before its answers do: its idle time
// is partly spent polling, as gRPC's threads do, the more the busier it is
// (at 80% of its most answers the CPU reads 94%; the real server read 97%).
// It answers 333 calls a window at most (300 us each); clients want twice
// that and follow the advice. Calls queue when more arrive than it answers,
// and the clients report the queue's delay one window late. Returns the
// answers over the last 40 of 100 windows as a share of the most, and the
// largest queue delay then.
struct Queued {
  double answered_share;
  double worst_delay;
  double shed_share;
};
Queued SimulateAQueueAtTwiceTheSaturatingLoad(bool clients_report_delay) {
  constexpr double kPerAnswer = 300e-6;
  constexpr double kWindow = 0.1;
  const double maximum = kWindow / kPerAnswer;
  const double demand = 2 * maximum;
  CpuShedController controller({});
  double queue = 0;
  double reported_delay = 0;
  Queued result{0, 0, 0};
  for (int i = 0; i < 100; ++i) {
    const double held_back = controller.advised_share();
    const double arriving = demand * (1 - held_back);
    const double let_through = arriving * (1 - controller.shed_share());
    const double answered = std::min(queue + let_through, maximum);
    queue += let_through - answered;
    const double busy = answered * kPerAnswer;
    Window window;
    window.seconds = kWindow;
    window.cpus = 1;
    window.calls = static_cast<int64_t>(arriving);
    window.admitted = static_cast<int64_t>(answered);
    window.work_seconds = busy * 0.8;
    window.cpu_seconds = busy + (kWindow - busy) * 0.9 * busy / kWindow;
    window.demand = arriving * DemandWeight(held_back);
    if (clients_report_delay && held_back > 0) {
      window.delay_reports = window.calls;
      window.delayed_reports = reported_delay > 0.003 ? window.calls : 0;
      window.queue_delay = reported_delay;
    }
    controller.Observe(window);
    reported_delay = queue * kPerAnswer;
    if (i >= 60) {
      result.answered_share += answered / maximum / 40;
      result.worst_delay = std::max(result.worst_delay, reported_delay);
    }
  }
  result.shed_share = controller.shed_share();
  return result;
}

// What the delay reports are for: sized on the CPU reading, the advice holds
// such a server's answers near 70% of its most (where its CPU reads the 90%
// target); sized on the queue, over 90%, with the queue kept short.
TEST(CpuShedControllerTest, DelayReportsKeepTheAnswersNearTheMaximumWhenTheCpuReadsFullEarly) {
  const Queued on_cpu = SimulateAQueueAtTwiceTheSaturatingLoad(false);
  const Queued on_delay = SimulateAQueueAtTwiceTheSaturatingLoad(true);
  EXPECT_LT(on_cpu.answered_share, 0.8);
  EXPECT_GT(on_delay.answered_share, 0.9);
  EXPECT_LT(on_delay.worst_delay, 0.05);
  EXPECT_EQ(on_delay.shed_share, 0);
}

}  // namespace
}  // namespace easymoney
