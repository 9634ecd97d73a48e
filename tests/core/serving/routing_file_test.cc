#include "core/serving/routing_file.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "absl/status/status.h"
#include "core/util/file_io.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/test_model.h"

namespace easymoney {
namespace {

using ::testing::HasSubstr;
using easymoney::model::v1::RoutingConfig;

TEST(ParseRoutingJsonTest, ReadsTheProtobufJsonMapping) {
  const absl::StatusOr<RoutingConfig> config =
      ParseRoutingJson(R"({"stable_version": "2", "canary_version": "3", "canary_percent": 12.5, "salt": "x"})");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->stable_version(), 2);
  EXPECT_EQ(config->canary_version(), 3);
  EXPECT_EQ(config->canary_percent(), 12.5);
  EXPECT_EQ(config->salt(), "x");
}

TEST(ParseRoutingJsonTest, RefusesPercentsOutsideTheRangeWrongTypesAndMalformedJson) {
  EXPECT_TRUE(absl::IsInvalidArgument(ParseRoutingJson(R"({"canary_percent": 101})").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(ParseRoutingJson(R"({"shadow_percent": "NaN"})").status()));
  EXPECT_FALSE(ParseRoutingJson("{").ok());
  EXPECT_FALSE(ParseRoutingJson(R"({"canary_percent": "ten"})").ok());
}

TEST(RoutingFileTest, AnAbsentFileIsAnEmptyRoutingReadOnce) {
  RoutingFile file(testing::MakeTempDir("routing"));
  auto first = file.ReadIfChanged();
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(first->has_value());
  EXPECT_EQ((*first)->stable_version(), 0);
  auto second = file.ReadIfChanged();
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->has_value()) << "unchanged";
}

TEST(RoutingFileTest, WritesAtomicallyAndReadsBackWhatItWrote) {
  const std::string base = testing::MakeTempDir("routing");
  RoutingFile file(base);
  ASSERT_TRUE(file.ReadIfChanged().ok());
  RoutingConfig config;
  config.set_stable_version(4);
  config.set_canary_version(5);
  config.set_canary_percent(20);
  ASSERT_TRUE(file.Write(config).ok());
  struct stat info;
  EXPECT_NE(stat((base + "/routing.json.tmp").c_str(), &info), 0) << "no temporary file left";
  auto read = file.ReadIfChanged();
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_TRUE(read->has_value());
  EXPECT_EQ((*read)->canary_version(), 5);
  EXPECT_EQ((*read)->canary_percent(), 20);
}

// A file that cannot be used is reported on every read until it can be,
// even when it is fixed without changing its size or time.
TEST(RoutingFileTest, AMalformedFileIsRetriedUntilItCanBeRead) {
  const std::string base = testing::MakeTempDir("routing");
  const std::string path = base + "/routing.json";
  ASSERT_TRUE(WriteStringToFile(path, R"({"canary_percent": 200})").ok());
  RoutingFile file(base);
  for (int i = 0; i < 2; ++i) {
    auto read = file.ReadIfChanged();
    EXPECT_TRUE(absl::IsInvalidArgument(read.status())) << "read " << i;
    EXPECT_THAT(read.status().message(), HasSubstr(path));
  }
  ASSERT_TRUE(WriteStringToFile(path, R"({"canary_percent": 20})").ok());
  auto read = file.ReadIfChanged();
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_TRUE(read->has_value());
  EXPECT_EQ((*read)->canary_percent(), 20);
}

// The scenario of AnUnreadableFileIsRetriedOnceItsPermissionIsFixed; 0 when
// it behaved, else the number of the step that did not.
int UnreadableThenFixed(const std::string& base) {
  const std::string path = base + "/routing.json";
  if (!WriteStringToFile(path, R"({"stable_version": "3"})").ok()) return 1;
  if (chmod(path.c_str(), 0) != 0) return 2;
  RoutingFile file(base);
  if (file.ReadIfChanged().ok()) return 3;
  if (chmod(path.c_str(), 0644) != 0) return 4;  // Size and modification time unchanged.
  auto read = file.ReadIfChanged();
  if (!read.ok() || !read->has_value()) return 5;
  return (*read)->stable_version() == 3 ? 0 : 6;
}

// Root reads a file whatever its mode: as root the scenario runs in a child
// that has dropped to an unprivileged user.
TEST(RoutingFileTest, AnUnreadableFileIsRetriedOnceItsPermissionIsFixed) {
  if (geteuid() != 0) {
    EXPECT_EQ(UnreadableThenFixed(testing::MakeTempDir("routing")), 0);
    return;
  }
  // Directly under /tmp, so that the unprivileged user can reach it whatever
  // the modes of the test's own temporary directories.
  char pattern[] = "/tmp/easymoney-routing-XXXXXX";
  ASSERT_NE(mkdtemp(pattern), nullptr);
  const std::string base = pattern;
  ASSERT_EQ(chmod(base.c_str(), 0777), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (setgid(65534) != 0 || setuid(65534) != 0) _exit(100);
    _exit(UnreadableThenFixed(base));
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  std::filesystem::remove_all(base);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "step that failed (100: could not drop to an unprivileged user)";
}

TEST(RoutingFileTest, InvalidateMakesTheNextReadReadAgain) {
  RoutingFile file(testing::MakeTempDir("routing"));
  ASSERT_TRUE(file.ReadIfChanged().ok());
  file.Invalidate();
  auto read = file.ReadIfChanged();
  ASSERT_TRUE(read.ok());
  EXPECT_TRUE(read->has_value());
}

TEST(RoutingFileTest, AFailedWriteLeavesTheFileAsItWas) {
  const std::string base = testing::MakeTempDir("routing");
  RoutingFile file(base);
  RoutingConfig config;
  config.set_stable_version(2);
  ASSERT_TRUE(file.Write(config).ok());
  // A directory where the temporary file would go makes the write fail.
  ASSERT_EQ(mkdir((base + "/routing.json.tmp").c_str(), 0755), 0);
  config.set_stable_version(9);
  EXPECT_FALSE(file.Write(config).ok());
  auto read = file.ReadIfChanged();
  ASSERT_TRUE(read.ok());
  ASSERT_TRUE(read->has_value());
  EXPECT_EQ((*read)->stable_version(), 2);
}

}  // namespace
}  // namespace easymoney
