#include "core/serving/model_manager.h"

#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "core/model/model_directory.h"
#include "core/serving/routing_file.h"
#include "core/util/file_io.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/test_model.h"

namespace easymoney {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// Versions written to a real model base on disk, and a manager over it
// without a poll thread: each test drives the scans itself.
class ModelManagerTest : public ::testing::Test {
 protected:
  void SetUp() override { base_ = testing::MakeTempDir("models"); }

  int64_t WriteVersion() {
    testing::TestModel model = testing::MakeTestModel();
    absl::StatusOr<int64_t> version = WriteModelVersion(base_, model.manifest, model.arrays);
    EXPECT_TRUE(version.ok()) << version.status();
    return version.ok() ? *version : 0;
  }

  // A version whose product factors no longer match their checksum.
  int64_t WriteBrokenVersion() {
    const int64_t version = WriteVersion();
    EXPECT_TRUE(WriteStringToFile(VersionDir(version) + "/product_factors.npy", "not an array").ok());
    return version;
  }

  std::string VersionDir(int64_t version) const { return base_ + "/" + std::to_string(version); }

  ModelManager::Options Options() {
    ModelManager::Options options;
    options.model_base = base_;
    options.poll_interval = absl::ZeroDuration();
    options.on_failure = [this](int64_t version, const absl::Status&) { failures_.push_back(version); };
    return options;
  }

  std::unique_ptr<ModelManager> Create(ModelManager::Options options) {
    absl::StatusOr<std::unique_ptr<ModelManager>> manager = ModelManager::Create(std::move(options));
    EXPECT_TRUE(manager.ok()) << manager.status();
    return manager.ok() ? *std::move(manager) : nullptr;
  }

  static int64_t StableOf(const ModelManager& manager) {
    const auto serving = manager.Current();
    return serving ? serving->stable->version() : 0;
  }

  static VersionStatus StatusOf(const ModelManager& manager, int64_t version) {
    for (const VersionStatus& status : manager.ListVersions()) {
      if (status.version == version) return status;
    }
    return {};
  }

  std::string base_;
  std::vector<int64_t> failures_;
};

TEST_F(ModelManagerTest, AnEmptyBaseServesNothingUntilAVersionArrives) {
  auto manager = Create(Options());
  EXPECT_EQ(manager->Current(), nullptr);
  WriteVersion();
  manager->Rescan();
  EXPECT_EQ(StableOf(*manager), 1);
}

TEST_F(ModelManagerTest, ServesTheNewestValidVersion) {
  WriteVersion();
  WriteVersion();
  auto manager = Create(Options());
  EXPECT_EQ(StableOf(*manager), 2);
  EXPECT_EQ(StatusOf(*manager, 2).state, VersionStatus::State::kServing);
  EXPECT_EQ(StatusOf(*manager, 2).serving_as, Variant::kStable);
}

TEST_F(ModelManagerTest, KeepsServingWhenTheNewestVersionIsBroken) {
  WriteVersion();
  auto manager = Create(Options());
  const int64_t broken = WriteBrokenVersion();
  manager->Rescan();
  EXPECT_EQ(StableOf(*manager), 1);
  const VersionStatus status = StatusOf(*manager, broken);
  EXPECT_EQ(status.state, VersionStatus::State::kFailed);
  EXPECT_THAT(status.reason, HasSubstr("product_factors"));
  EXPECT_EQ(failures_, std::vector<int64_t>{broken});
}

TEST_F(ModelManagerTest, RetriesARefusedVersionOnlyWhenItsFilesChange) {
  WriteVersion();
  auto manager = Create(Options());
  const int64_t broken = WriteBrokenVersion();
  manager->Rescan();
  manager->Rescan();
  EXPECT_EQ(failures_.size(), 1u) << "unchanged files are not loaded again";
  // Repaired: the new version's files replace the broken one's.
  const int64_t good = WriteVersion();
  fs::remove_all(VersionDir(broken));
  fs::rename(VersionDir(good), VersionDir(broken));
  manager->Rescan();
  EXPECT_EQ(StableOf(*manager), broken);
  EXPECT_EQ(failures_.size(), 1u);
}

// A version copied file by file has no manifest until the copy completes:
// it is neither served nor refused meanwhile.
TEST_F(ModelManagerTest, AVersionStillArrivingIsLoadedOnceComplete) {
  WriteVersion();
  auto manager = Create(Options());
  const int64_t arriving = WriteVersion();
  const std::string manifest = VersionDir(arriving) + "/manifest.json";
  fs::rename(manifest, base_ + "/held-back-manifest.json");
  manager->Rescan();
  EXPECT_EQ(StableOf(*manager), 1);
  EXPECT_NE(StatusOf(*manager, arriving).state, VersionStatus::State::kFailed);
  EXPECT_TRUE(failures_.empty());
  fs::rename(base_ + "/held-back-manifest.json", manifest);
  manager->Rescan();
  EXPECT_EQ(StableOf(*manager), arriving);
}

TEST_F(ModelManagerTest, APinnedPolicyServesItsVersion) {
  WriteVersion();
  WriteVersion();
  ModelManager::Options options = Options();
  options.version_policy = "pinned:1";
  auto manager = Create(std::move(options));
  EXPECT_EQ(StableOf(*manager), 1);
}

TEST_F(ModelManagerTest, RefusesMalformedOptions) {
  ModelManager::Options options = Options();
  options.version_policy = "newest";
  EXPECT_TRUE(absl::IsInvalidArgument(ModelManager::Create(options).status()));
  options = Options();
  options.model_base = "";
  EXPECT_TRUE(absl::IsInvalidArgument(ModelManager::Create(options).status()));
  options = Options();
  options.keep_previous = -1;
  EXPECT_TRUE(absl::IsInvalidArgument(ModelManager::Create(options).status()));
}

// What the owner attaches (the server's metric handles) is on every set
// before anyone can see the set, and on_publish runs before Current()
// returns it.
TEST_F(ModelManagerTest, EveryPublishedSetCarriesItsAttachment) {
  struct Versions final : ServingSetAttachment {
    int64_t stable = 0;
    int64_t canary = 0;
  };
  WriteVersion();
  WriteVersion();
  ModelManager::Options options = Options();
  options.attach = [](const ServingSet& serving) {
    auto versions = std::make_shared<Versions>();
    versions->stable = serving.stable->version();
    versions->canary = serving.canary ? serving.canary->version() : 0;
    return versions;
  };
  std::vector<int64_t> published;
  options.on_publish = [&published](const std::shared_ptr<const ServingSet>& serving) {
    ASSERT_NE(serving->attachment, nullptr);
    published.push_back(serving->attached<Versions>().stable);
  };
  auto manager = Create(std::move(options));
  EXPECT_EQ(manager->Current()->attached<Versions>().stable, 2);
  RoutingChange change;
  change.canary_version = 1;
  change.canary_percent = 10;
  ASSERT_TRUE(manager->SetRouting(change).ok());
  EXPECT_EQ(manager->Current()->attached<Versions>().stable, 2);
  EXPECT_EQ(manager->Current()->attached<Versions>().canary, 1);
  EXPECT_EQ(published, (std::vector<int64_t>{2, 2}));
}

// The owner's hooks run outside the lock that admin calls and listings
// take: a slow publication (the server's handle creation) holds nobody up.
TEST_F(ModelManagerTest, PublishesOutsideTheLockOfAdminCalls) {
  WriteVersion();
  absl::Notification publishing;
  absl::Notification release;
  ModelManager::Options options = Options();
  bool first = true;
  options.on_publish = [&](const std::shared_ptr<const ServingSet>&) {
    if (first) {
      first = false;
      return;
    }
    publishing.Notify();
    release.WaitForNotification();
  };
  auto manager = Create(std::move(options));
  WriteVersion();
  std::thread rescan([&] { manager->Rescan(); });
  publishing.WaitForNotification();
  auto listing = std::async(std::launch::async, [&] {
    manager->Routing();
    return manager->ListVersions().size();
  });
  const bool answered = listing.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
  release.Notify();
  rescan.join();
  EXPECT_TRUE(answered) << "ListVersions waited for a publication";
  EXPECT_EQ(listing.get(), 2u);
  EXPECT_EQ(StableOf(*manager), 2);
}

TEST_F(ModelManagerTest, ACanaryIsRoutedPersistedAndPromoted) {
  WriteVersion();
  WriteVersion();
  ModelManager::Options options = Options();
  options.version_policy = "pinned:1";
  auto manager = Create(options);
  RoutingChange change;
  change.canary_version = 2;
  change.canary_percent = 25;
  change.salt = "s";
  absl::StatusOr<RoutingState> state = manager->SetRouting(change);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->stable_version, 1);
  EXPECT_EQ(state->canary_version, 2);
  EXPECT_EQ(manager->Current()->canary->version(), 2);
  EXPECT_EQ(manager->Current()->canary_percent, 25);
  // Persisted: a restarted manager serves the same routing.
  {
    auto restarted = Create(options);
    ASSERT_NE(restarted->Current()->canary, nullptr);
    EXPECT_EQ(restarted->Current()->canary->version(), 2);
  }
  state = manager->PromoteCanary();
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(StableOf(*manager), 2);
  EXPECT_EQ(manager->Current()->canary, nullptr);
  EXPECT_EQ(state->previous_stable_version, 1);
  state = manager->Rollback();
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(StableOf(*manager), 1);
}

TEST_F(ModelManagerTest, RefusesACanaryThatCannotServe) {
  WriteVersion();
  auto manager = Create(Options());
  const int64_t broken = WriteBrokenVersion();
  RoutingChange change;
  change.canary_version = broken;
  change.canary_percent = 10;
  const absl::StatusOr<RoutingState> state = manager->SetRouting(change);
  EXPECT_TRUE(absl::IsFailedPrecondition(state.status())) << state.status();
  EXPECT_THAT(state.status().message(), HasSubstr("cannot serve"));
  change.canary_version = 1;  // The stable itself.
  EXPECT_TRUE(absl::IsFailedPrecondition(manager->SetRouting(change).status()));
  EXPECT_EQ(manager->Current()->canary, nullptr);
}

TEST_F(ModelManagerTest, AbandonsOnlyTheCanaryItNamesAndRecordsWhy) {
  WriteVersion();
  WriteVersion();
  ModelManager::Options options = Options();
  options.version_policy = "pinned:1";
  auto manager = Create(std::move(options));
  RoutingChange change;
  change.canary_version = 2;
  change.canary_percent = 10;
  ASSERT_TRUE(manager->SetRouting(change).ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(manager->AbandonCanary(5, "x").status()));
  absl::StatusOr<RoutingState> state = manager->AbandonCanary(2, "error rate 9% vs 0%");
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(manager->Current()->canary, nullptr);
  EXPECT_THAT(state->last_auto_rollback, HasSubstr("canary 2 rolled back: error rate 9% vs 0%"));
}

TEST_F(ModelManagerTest, FollowsRoutingJsonWrittenByHand) {
  WriteVersion();
  WriteVersion();
  auto manager = Create(Options());
  ASSERT_EQ(StableOf(*manager), 2);
  ASSERT_TRUE(WriteStringToFile(base_ + "/routing.json", R"({"stable_version": "1"})").ok());
  manager->Rescan();
  EXPECT_EQ(StableOf(*manager), 1);
  // A malformed file keeps the routing in force.
  ASSERT_TRUE(WriteStringToFile(base_ + "/routing.json", R"({"stable_version": )").ok());
  manager->Rescan();
  EXPECT_EQ(StableOf(*manager), 1);
}

TEST_F(ModelManagerTest, ReportsRoutedVersionsThatCannotServeUntilTheyCan) {
  WriteVersion();
  auto manager = Create(Options());
  const int64_t broken = WriteBrokenVersion();
  ASSERT_TRUE(WriteStringToFile(base_ + "/routing.json",
                                absl::StrCat(R"({"stable_version": "7", "canary_version": ")", broken,
                                             R"(", "canary_percent": 10})"))
                  .ok());
  manager->Rescan();
  EXPECT_EQ(StableOf(*manager), 1);
  EXPECT_EQ(manager->Current()->canary, nullptr);
  std::vector<std::string> problems = manager->Routing().routing_problems;
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_THAT(problems[0], HasSubstr("stable version 7, which cannot serve (not in the model base); version 1 "
                                     "serves instead"));
  EXPECT_THAT(problems[1], HasSubstr(absl::StrCat("canary version ", broken, ", which cannot serve (FAILED: ")));
  // Repaired: the routing is followed and nothing is reported.
  ASSERT_TRUE(WriteStringToFile(base_ + "/routing.json", R"({"stable_version": "1"})").ok());
  manager->Rescan();
  EXPECT_TRUE(manager->Routing().routing_problems.empty());
}

// routing.json that cannot be written (a read-only model base, a full
// disk) leaves the routing in force and says why.
TEST_F(ModelManagerTest, AnUnwritableRoutingFileKeepsTheRoutingInForce) {
  WriteVersion();
  WriteVersion();
  auto manager = Create(Options());
  ASSERT_EQ(mkdir((base_ + "/routing.json.tmp").c_str(), 0755), 0);
  RoutingChange change;
  change.canary_version = 1;
  change.canary_percent = 10;
  const absl::StatusOr<RoutingState> state = manager->SetRouting(change);
  EXPECT_TRUE(absl::IsInternal(state.status())) << state.status();
  EXPECT_EQ(manager->Current()->canary, nullptr);
  EXPECT_EQ(manager->Routing().canary_version, 0);
}

// Loaded are the stable, the newest and keep_previous earlier stables;
// the rest is evicted (requests still holding one keep it alive).
TEST_F(ModelManagerTest, KeepsThePreviousStablesForRollbackAndEvictsTheRest) {
  for (int i = 0; i < 3; ++i) WriteVersion();
  auto manager = Create(Options());
  ASSERT_EQ(StableOf(*manager), 3);
  EXPECT_EQ(StatusOf(*manager, 2).state, VersionStatus::State::kReady) << "loaded as the rollback target";
  EXPECT_EQ(StatusOf(*manager, 1).state, VersionStatus::State::kRetired);
  WriteVersion();
  manager->Rescan();
  EXPECT_EQ(StableOf(*manager), 4);
  EXPECT_EQ(StatusOf(*manager, 3).state, VersionStatus::State::kReady);
  EXPECT_EQ(StatusOf(*manager, 2).state, VersionStatus::State::kRetired);
  EXPECT_EQ(manager->Routing().previous_stable_version, 3);
}

}  // namespace
}  // namespace easymoney
