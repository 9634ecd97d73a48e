#include "client/loopback_target.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace easymoney {
namespace {

TEST(LoopbackTargetTest, AcceptsLoopbackAddressesWithAPort) {
  for (const char* target : {"127.0.0.1:50051", "127.1.2.3:1", "localhost:50051", "[::1]:50051",
                             "ipv4:127.0.0.1:8080", "ipv6:[::1]:8080", "dns:///localhost:50051"}) {
    EXPECT_TRUE(CheckLoopbackTarget(target).ok()) << target;
  }
}

TEST(LoopbackTargetTest, RefusesOtherHostsWithAMessageThatQuotesTheTarget) {
  for (const char* target : {"10.0.0.1:50051", "recommender:50051", "dns:///recommender.prod:50051",
                             "128.0.0.1:50051", "127.0.0.256:50051", "1127.0.0.1:50051", "[::2]:50051",
                             "0.0.0.0:50051", "unix:/tmp/socket", "ipv4:127.0.0.1:1,10.0.0.1:1",
                             "localhost.evil.example:50051"}) {
    const absl::Status status = CheckLoopbackTarget(target);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << target;
    EXPECT_THAT(status.message(), ::testing::HasSubstr(target));
  }
}

TEST(LoopbackTargetTest, AcceptsAListOfLoopbackAddressesBehindTheIpv4OrIpv6Scheme) {
  for (const char* target : {"ipv4:127.0.0.1:50051,127.0.0.1:50052", "ipv4:127.0.0.1:1,127.0.0.2:2,127.255.0.1:3",
                             "ipv6:[::1]:50051,[::1]:50052"}) {
    EXPECT_TRUE(CheckLoopbackTarget(target).ok()) << target;
  }
}

TEST(LoopbackTargetTest, RefusesAListWithAnyAddressThatIsNotLoopback) {
  for (const char* target : {"ipv4:10.0.0.1:1,127.0.0.1:2", "ipv4:127.0.0.1:1,127.0.0.1:2,192.168.1.5:3",
                             "ipv6:[::1]:1,[::2]:2", "ipv4:127.0.0.1:1,localhost.evil.example:2"}) {
    const absl::Status status = CheckLoopbackTarget(target);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << target;
    EXPECT_THAT(status.message(), ::testing::HasSubstr(target));
    EXPECT_THAT(status.message(), ::testing::HasSubstr("is not a loopback address")) << target;
  }
}

TEST(LoopbackTargetTest, RefusesAListWithoutTheIpv4OrIpv6SchemeOrWithAnEmptyOrPortlessEntry) {
  for (const char* target : {"127.0.0.1:1,127.0.0.1:2", "dns:///127.0.0.1:1,127.0.0.1:2", "ipv4:127.0.0.1:1,",
                             "ipv4:,127.0.0.1:1", "ipv4:127.0.0.1:1,,127.0.0.1:2", "ipv4:127.0.0.1:1,127.0.0.1",
                             "ipv4:127.0.0.1:1,127.0.0.1:0"}) {
    const absl::Status status = CheckLoopbackTarget(target);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << target;
    EXPECT_THAT(status.message(), ::testing::HasSubstr(target));
  }
}

TEST(LoopbackTargetTest, RefusesAMissingOrInvalidPort) {
  for (const char* target : {"127.0.0.1", "localhost", "[::1]", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:+80",
                             "127.0.0.1:"}) {
    EXPECT_EQ(CheckLoopbackTarget(target).code(), absl::StatusCode::kInvalidArgument) << target;
  }
}

}  // namespace
}  // namespace easymoney
