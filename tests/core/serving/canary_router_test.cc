#include "core/serving/canary_router.h"

#include <string>

#include "gtest/gtest.h"

namespace easymoney {
namespace {

double CanaryShare(double percent, const std::string& salt, int customers) {
  int canary = 0;
  for (int i = 0; i < customers; ++i) {
    canary += RouteCustomer(std::to_string(1000000 + i * 7), salt, percent) == Variant::kCanary;
  }
  return 100.0 * canary / customers;
}

TEST(CanaryRouterTest, ObservedSplitIsWithinOnePointOfTheTargetOverTenThousandCustomers) {
  for (double percent : {1.0, 5.0, 10.0, 25.0, 50.0, 90.0}) {
    for (const char* salt : {"", "rollout-1", "2026-11-23"}) {
      EXPECT_NEAR(CanaryShare(percent, salt, 10000), percent, 1.0) << percent << "% salt " << salt;
    }
  }
}

TEST(CanaryRouterTest, ZeroAndHundredPercentAreExact) {
  EXPECT_EQ(CanaryShare(0, "s", 2000), 0.0);
  EXPECT_EQ(CanaryShare(100, "s", 2000), 100.0);
}

TEST(CanaryRouterTest, BucketsArePinnedAcrossBuilds) {
  // A change of hash would silently reshuffle every rollout running across
  // replicas of different builds: these values must never change.
  EXPECT_EQ(CustomerBucket("1375586", "a"), 1219u);
  EXPECT_EQ(CustomerBucket("1375586", ""), 422u);
}

TEST(CanaryRouterTest, ANewSaltReshufflesCustomers) {
  int moved = 0;
  for (int i = 0; i < 1000; ++i) {
    const std::string id = std::to_string(i);
    moved += RouteCustomer(id, "one", 50) != RouteCustomer(id, "two", 50);
  }
  EXPECT_GT(moved, 300);
  EXPECT_LT(moved, 700);
}

TEST(CanaryRouterTest, GrowingThePercentOnlyAddsCustomersToTheCanary) {
  for (int i = 0; i < 2000; ++i) {
    const std::string id = std::to_string(i);
    if (RouteCustomer(id, "s", 10) == Variant::kCanary) {
      EXPECT_EQ(RouteCustomer(id, "s", 30), Variant::kCanary) << id;
    }
  }
}

}  // namespace
}  // namespace easymoney
