#include "core/serving/version_policy.h"

#include <set>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace easymoney {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(VersionPolicyTest, ParsesLatestAndPinned) {
  absl::StatusOr<VersionPolicy> latest = VersionPolicy::Parse("latest");
  ASSERT_TRUE(latest.ok()) << latest.status();
  EXPECT_EQ(latest->pinned_version(), 0);
  absl::StatusOr<VersionPolicy> pinned = VersionPolicy::Parse("pinned:7");
  ASSERT_TRUE(pinned.ok()) << pinned.status();
  EXPECT_EQ(pinned->pinned_version(), 7);
}

TEST(VersionPolicyTest, RefusesAnythingElse) {
  for (const char* policy : {"", "newest", "pinned:", "pinned:0", "pinned:-3", "pinned:x", "Latest"}) {
    const absl::StatusOr<VersionPolicy> parsed = VersionPolicy::Parse(policy);
    EXPECT_TRUE(absl::IsInvalidArgument(parsed.status())) << "'" << policy << "'";
  }
}

TEST(VersionPolicyTest, LatestTriesTheNewerVersionsNewestFirst) {
  const VersionPolicy policy = *VersionPolicy::Parse("latest");
  EXPECT_THAT(policy.LoadOrder({1, 2, 5, 9}, 0), ElementsAre(9, 5, 2, 1));
  EXPECT_THAT(policy.LoadOrder({1, 2, 5, 9}, 2), ElementsAre(9, 5));
  EXPECT_THAT(policy.LoadOrder({1, 2, 5, 9}, 9), IsEmpty());
}

TEST(VersionPolicyTest, PinnedTriesOnlyItsVersionEvenWhenNotOnDisk) {
  const VersionPolicy policy = *VersionPolicy::Parse("pinned:5");
  EXPECT_THAT(policy.LoadOrder({1, 2, 5, 9}, 9), ElementsAre(5));
  EXPECT_THAT(policy.LoadOrder({}, 0), ElementsAre(5));
}

TEST(VersionPolicyTest, LatestMakesTheNewestLoadedVersionStable) {
  const VersionPolicy policy = *VersionPolicy::Parse("latest");
  EXPECT_EQ(policy.Stable(0, {1, 2, 5}, 2), 5);
  EXPECT_EQ(policy.Stable(0, {}, 0), 0);
}

TEST(VersionPolicyTest, TheRoutedVersionWinsOverThePolicy) {
  EXPECT_EQ(VersionPolicy::Parse("latest")->Stable(2, {1, 2, 5}, 5), 2);
  EXPECT_EQ(VersionPolicy::Parse("pinned:1")->Stable(2, {1, 2, 5}, 1), 2);
}

TEST(VersionPolicyTest, PinnedMakesItsVersionStable) {
  EXPECT_EQ(VersionPolicy::Parse("pinned:1")->Stable(0, {1, 2, 5}, 5), 1);
}

// A routed or pinned version that is not loaded (refused, or still being
// copied) never serves: what serves goes on serving.
TEST(VersionPolicyTest, AVersionNotLoadedLeavesTheServingOneInPlace) {
  EXPECT_EQ(VersionPolicy::Parse("latest")->Stable(7, {1, 2}, 2), 2);
  EXPECT_EQ(VersionPolicy::Parse("pinned:7")->Stable(0, {1, 2}, 1), 1);
  EXPECT_EQ(VersionPolicy::Parse("pinned:7")->Stable(0, {1, 2}, 0), 0);
}

}  // namespace
}  // namespace easymoney
