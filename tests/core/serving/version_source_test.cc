#include "core/serving/version_source.h"

#include <sys/stat.h>

#include <filesystem>
#include <string>

#include "absl/status/status.h"
#include "core/model/model_directory.h"
#include "core/util/file_io.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/test_model.h"

namespace easymoney {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

int64_t WriteTestVersion(const std::string& base) {
  testing::TestModel model = testing::MakeTestModel();
  absl::StatusOr<int64_t> version = WriteModelVersion(base, model.manifest, model.arrays);
  EXPECT_TRUE(version.ok()) << version.status();
  return version.ok() ? *version : 0;
}

TEST(VersionSourceTest, ListsVersionDirectoriesOnly) {
  const std::string base = testing::MakeTempDir("models");
  VersionSource source(base);
  EXPECT_THAT(*source.List(), IsEmpty());
  WriteTestVersion(base);
  WriteTestVersion(base);
  fs::create_directory(base + "/.tmp-3");
  fs::create_directory(base + "/007");
  ASSERT_TRUE(WriteStringToFile(base + "/routing.json", "{}").ok());
  EXPECT_THAT(*source.List(), ElementsAre(1, 2));
  EXPECT_EQ(source.DirOf(2), base + "/2");
}

TEST(VersionSourceTest, AMissingBaseIsNotFound) {
  VersionSource source(testing::MakeTempDir("models") + "/absent");
  EXPECT_TRUE(absl::IsNotFound(source.List().status()));
}

// A version copied by hand or by a sync tool arrives file by file; it is
// ready only once its manifest is there.
TEST(VersionSourceTest, AVersionWithoutItsManifestIsNotReady) {
  const std::string base = testing::MakeTempDir("models");
  const int64_t version = WriteTestVersion(base);
  VersionSource source(base);
  EXPECT_TRUE(source.Ready(version));
  fs::rename(source.DirOf(version) + "/manifest.json", base + "/manifest.json");
  EXPECT_FALSE(source.Ready(version));
  EXPECT_FALSE(source.Ready(99));
}

TEST(VersionSourceTest, TheFingerprintChangesWithTheFiles) {
  const std::string base = testing::MakeTempDir("models");
  const int64_t version = WriteTestVersion(base);
  VersionSource source(base);
  const VersionSource::Fingerprint before = source.FingerprintOf(version);
  EXPECT_GT(before.total_bytes, 0);
  EXPECT_EQ(source.FingerprintOf(version), before) << "nothing changed";
  // Made readable, replaced, or grown: each is a reason to look again.
  const std::string file = source.DirOf(version) + "/manifest.json";
  ASSERT_EQ(chmod(file.c_str(), 0600), 0);
  const VersionSource::Fingerprint after_chmod = source.FingerprintOf(version);
  EXPECT_FALSE(after_chmod == before);
  ASSERT_TRUE(WriteStringToFile(source.DirOf(version) + "/extra", "x").ok());
  const VersionSource::Fingerprint after_new_file = source.FingerprintOf(version);
  EXPECT_FALSE(after_new_file == after_chmod);
  EXPECT_EQ(after_new_file.total_bytes, before.total_bytes + 1);
}

}  // namespace
}  // namespace easymoney
