#include "core/shed_advice.h"

#include <optional>

#include "gtest/gtest.h"

namespace easymoney {
namespace {

TEST(ShedAdviceTest, FormatsThreeDecimals) {
  EXPECT_EQ(FormatShare(0), "0");
  EXPECT_EQ(FormatShare(0.0004), "0");
  EXPECT_EQ(FormatShare(0.005), "0.005");
  EXPECT_EQ(FormatShare(0.0504), "0.050");
  EXPECT_EQ(FormatShare(0.4126), "0.413");
  EXPECT_EQ(FormatShare(0.9), "0.900");
  EXPECT_EQ(FormatShare(1.5), "1");
  EXPECT_EQ(FormatShare(-0.3), "0");
}

TEST(ShedAdviceTest, ParsesWhatItFormats) {
  for (const double share : {0.0, 0.005, 0.25, 0.413, 0.9}) {
    const std::optional<double> parsed = ParseShare(FormatShare(share));
    ASSERT_TRUE(parsed.has_value()) << share;
    EXPECT_NEAR(*parsed, share, 0.0005);
  }
}

// A client or server that sends nonsense changes nothing, and no value can
// ask for every call to be refused.
TEST(ShedAdviceTest, ClampsAndRefusesNonsense) {
  EXPECT_EQ(ParseShare("0.95"), kMaxAdvisedShare);
  EXPECT_EQ(ParseShare("1"), kMaxAdvisedShare);
  EXPECT_EQ(ParseShare("1e300"), kMaxAdvisedShare);
  EXPECT_EQ(ParseShare("-0.2"), 0);
  EXPECT_EQ(ParseShare(""), std::nullopt);
  EXPECT_EQ(ParseShare("half"), std::nullopt);
  EXPECT_EQ(ParseShare("0.5x"), std::nullopt);
  EXPECT_EQ(ParseShare("nan"), std::nullopt);
  EXPECT_EQ(ParseShare("inf"), std::nullopt);
}

TEST(ShedAdviceTest, EachArrivingCallStandsForTheCallsItsClientRefused) {
  EXPECT_DOUBLE_EQ(DemandWeight(0), 1);
  EXPECT_DOUBLE_EQ(DemandWeight(0.5), 2);
  EXPECT_NEAR(DemandWeight(kMaxAdvisedShare), 10, 1e-9);
}

TEST(ShedAdviceTest, DelaysGoAsMillisecondsWithOneDecimal) {
  EXPECT_EQ(FormatDelay(0.0032), "3.2");
  EXPECT_EQ(FormatDelay(0.01234), "12.3");
  EXPECT_EQ(FormatDelay(0.00004), "0.0");
  EXPECT_EQ(FormatDelay(-1), "0.0");
  EXPECT_EQ(FormatDelay(1e9), "60000.0");
  EXPECT_NEAR(*ParseDelay("3.2"), 0.0032, 1e-12);
  EXPECT_NEAR(*ParseDelay(FormatDelay(0.25)), 0.25, 1e-12);
}

TEST(ShedAdviceTest, DelaysAreClampedAndNonsenseRefused) {
  EXPECT_EQ(ParseDelay("-5"), 0);
  EXPECT_EQ(ParseDelay("1e300"), kMaxReportedDelay);
  EXPECT_EQ(ParseDelay(""), std::nullopt);
  EXPECT_EQ(ParseDelay("3ms"), std::nullopt);
  EXPECT_EQ(ParseDelay("nan"), std::nullopt);
  EXPECT_EQ(ParseDelay("-inf"), std::nullopt);
}

}  // namespace
}  // namespace easymoney
