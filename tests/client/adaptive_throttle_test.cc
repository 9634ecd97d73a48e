#include "client/adaptive_throttle.h"

#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace easymoney {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1'700'000'000);

// Sends `calls` calls at `now` with evenly spread draws; the server accepts
// the first `capacity` that reach it and refuses the rest for overload.
// Returns how many were refused locally.
int Drive(AdaptiveThrottle& throttle, absl::Time now, int calls, int capacity) {
  int refused = 0;
  int sent = 0;
  for (int i = 0; i < calls; ++i) {
    if (!throttle.Admit(now, (i * 7919 % calls + 0.5) / calls)) {
      ++refused;
      continue;
    }
    throttle.Record(now, ++sent <= capacity);
  }
  return refused;
}

TEST(AdaptiveThrottleTest, RefusesNothingWhileTheServerAcceptsEverything) {
  AdaptiveThrottle throttle({.accepts_multiplier = 1.1});
  EXPECT_EQ(Drive(throttle, kStart, 10000, 10000), 0);
  EXPECT_EQ(throttle.RefusalProbability(kStart), 0);
}

// The book's formula: with the server accepting a of r requests, the
// probability is (r - K a) / (r + 1).
TEST(AdaptiveThrottleTest, RefusesTheExcessOverKTimesWhatTheServerAccepts) {
  AdaptiveThrottle throttle({.accepts_multiplier = 2.0});
  for (int i = 0; i < 1000; ++i) throttle.Admit(kStart, 0.999999);  // 1,000 requests...
  for (int i = 0; i < 100; ++i) throttle.Record(kStart, true);      // ...100 accepted.
  EXPECT_NEAR(throttle.RefusalProbability(kStart), (1000.0 - 2 * 100) / 1001, 1e-9);
}

TEST(AdaptiveThrottleTest, LetsAboutKTimesWhatTheServerCanAcceptThroughUnderOverload) {
  // 1,000 calls wanted per step, the server answers 250 of them: with
  // K = 1.1 the client settles at sending about 1.1 x 250, refusing the
  // rest itself instead of making the server refuse them.
  AdaptiveThrottle throttle({.accepts_multiplier = 1.1});
  absl::Time now = kStart;
  int refused = 0;
  for (int step = 0; step < 40; ++step, now += absl::Milliseconds(500)) refused = Drive(throttle, now, 1000, 250);
  const int sent = 1000 - refused;
  EXPECT_GE(sent, 250);
  EXPECT_LE(sent, 350);
}

TEST(AdaptiveThrottleTest, ForgetsAnOverloadOnceItLeavesTheWindow) {
  AdaptiveThrottle throttle({.accepts_multiplier = 1.1, .window = absl::Seconds(10), .buckets = 10});
  Drive(throttle, kStart, 1000, 1);  // Nearly everything refused by the server.
  EXPECT_GT(throttle.RefusalProbability(kStart), 0.8);
  EXPECT_GT(throttle.RefusalProbability(kStart + absl::Seconds(9)), 0.8);
  EXPECT_EQ(throttle.RefusalProbability(kStart + absl::Seconds(11)), 0);
}

TEST(AdaptiveThrottleTest, AMultiplierBelowOneIsTakenAsOne) {
  AdaptiveThrottle throttle({.accepts_multiplier = 0.5});
  EXPECT_EQ(Drive(throttle, kStart, 1000, 1000), 0);
}

}  // namespace
}  // namespace easymoney
