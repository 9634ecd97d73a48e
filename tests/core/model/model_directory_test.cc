#include "core/model/model_directory.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/test_model.h"

namespace easymoney {
namespace {

namespace fs = std::filesystem;

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Optional;
using testing::MakeTempDir;
using testing::MakeTestModel;

TEST(ModelDirectoryTest, ParsesPositiveDecimalVersionNames) {
  EXPECT_THAT(ParseVersionName("1"), Optional(1));
  EXPECT_THAT(ParseVersionName("42"), Optional(42));
  EXPECT_THAT(ParseVersionName("9223372036854775807"), Optional(9223372036854775807LL));
}

TEST(ModelDirectoryTest, RejectsNamesThatAreNotVersions) {
  for (const char* name : {"0", "007", "-1", "+1", "1a", "a1", "", " 1", "1 ", "1.0", ".writing-1", "1e3"}) {
    EXPECT_EQ(ParseVersionName(name), std::nullopt) << "'" << name << "'";
  }
}

TEST(ModelDirectoryTest, RejectsVersionNamesThatOverflowInt64) {
  EXPECT_EQ(ParseVersionName("9223372036854775808"), std::nullopt);   // int64 max + 1, 19 digits.
  EXPECT_EQ(ParseVersionName("12345678901234567890"), std::nullopt);  // 20 digits.
}

TEST(ModelDirectoryTest, ListsOnlyVersionDirectoriesAscending) {
  const std::string base = MakeTempDir("models");
  for (const char* dir : {"10", "2", "1", "007", "latest", ".writing-123-456", "0"}) {
    fs::create_directory(fs::path(base) / dir);
  }
  std::ofstream(fs::path(base) / "3") << "a file named like a version";
  std::ofstream(fs::path(base) / "routing.json") << "{}";

  auto versions = ListModelVersions(base);
  ASSERT_TRUE(versions.ok()) << versions.status();
  EXPECT_THAT(*versions, ElementsAre(1, 2, 10));
}

TEST(ModelDirectoryTest, WriteRefusesWhenNoHigherVersionNumberIsLeft) {
  const std::string base = MakeTempDir("models");
  fs::create_directories(fs::path(base) / "9223372036854775807");
  const testing::TestModel model = MakeTestModel();
  auto written = WriteModelVersion(base, model.manifest, model.arrays);
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(written.status().message(), ::testing::HasSubstr("no higher version number is left"));
  // Nothing half-written is left behind.
  auto versions = ListModelVersions(base);
  ASSERT_TRUE(versions.ok());
  EXPECT_EQ(std::distance(fs::directory_iterator(base), fs::directory_iterator()), 1);
  fs::remove_all(base);
}

TEST(ModelDirectoryTest, ListsNothingInEmptyBase) {
  auto versions = ListModelVersions(MakeTempDir("models"));
  ASSERT_TRUE(versions.ok()) << versions.status();
  EXPECT_THAT(*versions, IsEmpty());
}

TEST(ModelDirectoryTest, MissingBaseIsNotFound) {
  const std::string base = MakeTempDir("models") + "/absent";
  auto versions = ListModelVersions(base);
  ASSERT_FALSE(versions.ok());
  EXPECT_EQ(versions.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(versions.status().message(), ::testing::HasSubstr(base));
}

TEST(ModelDirectoryTest, WritesVersionsNumberedOneTwoThree) {
  const std::string base = MakeTempDir("models");
  const auto model = MakeTestModel();
  for (int64_t expected = 1; expected <= 3; ++expected) {
    auto version = WriteModelVersion(base, model.manifest, model.arrays);
    ASSERT_TRUE(version.ok()) << version.status();
    EXPECT_EQ(*version, expected);
    EXPECT_TRUE(fs::exists(fs::path(base) / std::to_string(expected) / kManifestFile));
  }
  auto versions = ListModelVersions(base);
  ASSERT_TRUE(versions.ok()) << versions.status();
  EXPECT_THAT(*versions, ElementsAre(1, 2, 3));
}

TEST(ModelDirectoryTest, NumbersNewVersionAfterHighestExisting) {
  const std::string base = MakeTempDir("models");
  fs::create_directory(fs::path(base) / "7");
  const auto model = MakeTestModel();
  auto version = WriteModelVersion(base, model.manifest, model.arrays);
  ASSERT_TRUE(version.ok()) << version.status();
  EXPECT_EQ(*version, 8);
}

TEST(ModelDirectoryTest, CreatesMissingBase) {
  const std::string base = MakeTempDir("models") + "/nested/base";
  const auto model = MakeTestModel();
  auto version = WriteModelVersion(base, model.manifest, model.arrays);
  ASSERT_TRUE(version.ok()) << version.status();
  EXPECT_EQ(*version, 1);
}

TEST(ModelDirectoryTest, LeavesNoTemporaryDirectoryBehind) {
  const std::string base = MakeTempDir("models");
  const auto model = MakeTestModel();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(WriteModelVersion(base, model.manifest, model.arrays).ok());
  std::vector<std::string> entries;
  for (const fs::directory_entry& entry : fs::directory_iterator(base)) {
    entries.push_back(entry.path().filename().string());
  }
  std::sort(entries.begin(), entries.end());
  EXPECT_THAT(entries, ElementsAre("1", "2", "3"));
}

TEST(ModelDirectoryTest, WrittenVersionHoldsEveryFile) {
  const std::string base = MakeTempDir("models");
  const auto model = MakeTestModel();
  ASSERT_TRUE(WriteModelVersion(base, model.manifest, model.arrays).ok());
  std::vector<std::string> files;
  for (const fs::directory_entry& entry : fs::directory_iterator(fs::path(base) / "1")) {
    files.push_back(entry.path().filename().string());
  }
  EXPECT_THAT(files, ::testing::UnorderedElementsAre(
                         kManifestFile, kCustomerIdsFile, kCustomerFactorsFile, kProductFactorsFile,
                         kSingularValuesFile, kClusterCentroidsFile, kCustomerClustersFile,
                         kHoldingsIndptrFile, kHoldingsIndicesFile, kProductPopularityFile));
}

}  // namespace
}  // namespace easymoney
