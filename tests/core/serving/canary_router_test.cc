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

// "0007" is customer 7 to the model; routing must agree, or one customer
// could see both variants depending on how a backend formats the id.
TEST(CanaryRouterTest, LeadingZerosDoNotChangeTheVariant) {
  for (int id = 1; id < 2000; ++id) {
    const std::string plain = std::to_string(id);
    for (const std::string& padded : {"0" + plain, "000" + plain}) {
      ASSERT_EQ(CustomerBucket(padded, "salt"), CustomerBucket(plain, "salt")) << padded;
      ASSERT_EQ(RouteCustomer(padded, "salt", 37.5), RouteCustomer(plain, "salt", 37.5)) << padded;
    }
  }
  EXPECT_EQ(CanonicalCustomerId("0007"), "7");
  EXPECT_EQ(CanonicalCustomerId("0"), "0");
  EXPECT_EQ(CanonicalCustomerId("1000"), "1000");
}

}  // namespace
}  // namespace easymoney
