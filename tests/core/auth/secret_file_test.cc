#include "core/auth/access_tokens.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "core/util/sha256.h"
#include "tests/testing/test_model.h"

namespace easymoney {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::string LineFor(const std::string& token, const std::string& name, const std::string& roles) {
  return absl::StrCat("sha256:", Sha256Hex(token), " ", name, " ", roles, "\n");
}

class AccessTokenFileTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::MakeTempDir("tokens"); }
  void TearDown() override { fs::remove_all(dir_); }

  // Replaces the file the way an operator's tool would: write aside, rename.
  void Write(const std::string& text, const std::string& name = "tokens") {
    const std::string aside = dir_ + "/." + name + ".new";
    std::ofstream(aside) << text;
    ::chmod(aside.c_str(), 0600);
    fs::rename(aside, dir_ + "/" + name);
  }
  std::string path() const { return dir_ + "/tokens"; }

  std::string dir_;
};

TEST_F(AccessTokenFileTest, OpensAndFindsTokens) {
  Write(LineFor("a", "web", "recommend"));
  auto file = AccessTokenFile::Open(path());
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ((*file)->Current()->size(), 1);
  EXPECT_NE((*file)->Current()->Find("a"), nullptr);
  auto unchanged = (*file)->ReloadIfChanged();
  ASSERT_TRUE(unchanged.ok());
  EXPECT_FALSE(*unchanged);
}

TEST_F(AccessTokenFileTest, RefusesMissingMalformedOrWorldWritableFiles) {
  EXPECT_EQ(AccessTokenFile::Open(path()).status().code(), absl::StatusCode::kNotFound);
  Write("sha256:nothex web recommend\n");
  auto malformed = AccessTokenFile::Open(path());
  EXPECT_EQ(malformed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(malformed.status().message(), HasSubstr("line 1"));
  Write(LineFor("a", "web", "recommend"));
  ::chmod(path().c_str(), 0666);
  auto writable = AccessTokenFile::Open(path());
  EXPECT_EQ(writable.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(writable.status().message(), HasSubstr("writable by every user"));
  EXPECT_EQ(AccessTokenFile::Open(dir_).status().code(), absl::StatusCode::kInvalidArgument);  // A directory.
}

TEST_F(AccessTokenFileTest, ReloadTakesAddedAndRevokedTokens) {
  Write(LineFor("a", "web", "recommend"));
  auto file = AccessTokenFile::Open(path());
  ASSERT_TRUE(file.ok());
  Write(LineFor("b", "ops", "admin"));
  auto reloaded = (*file)->ReloadIfChanged();
  ASSERT_TRUE(reloaded.ok()) << reloaded.status();
  EXPECT_TRUE(*reloaded);
  EXPECT_EQ((*file)->Current()->Find("a"), nullptr) << "revoked";
  ASSERT_NE((*file)->Current()->Find("b"), nullptr);
  EXPECT_EQ((*file)->Current()->Find("b")->name, "ops");
}

TEST_F(AccessTokenFileTest, InPlaceRewriteIsNoticed) {
  Write(LineFor("a", "web", "recommend"));
  auto file = AccessTokenFile::Open(path());
  ASSERT_TRUE(file.ok());
  std::ofstream(path(), std::ios::trunc) << LineFor("a", "web", "recommend") << LineFor("c", "batch", "recommend");
  auto reloaded = (*file)->ReloadIfChanged();
  ASSERT_TRUE(reloaded.ok());
  EXPECT_TRUE(*reloaded);
  EXPECT_EQ((*file)->Current()->size(), 2);
}

TEST_F(AccessTokenFileTest, BrokenChangeKeepsTheTokensInForceAndIsReportedOnce) {
  Write(LineFor("a", "web", "recommend"));
  auto file = AccessTokenFile::Open(path());
  ASSERT_TRUE(file.ok());
  Write(LineFor("a", "web", "recommend") + "sha256:oops web admin\n");
  auto refused = (*file)->ReloadIfChanged();
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), HasSubstr("line 2"));
  EXPECT_THAT(refused.status().message(), HasSubstr("keeping the 1 tokens already loaded"));
  EXPECT_NE((*file)->Current()->Find("a"), nullptr);
  auto again = (*file)->ReloadIfChanged();
  ASSERT_TRUE(again.ok()) << "the same broken file is reported once";
  EXPECT_FALSE(*again);
  // Fixed: taken.
  Write(LineFor("a", "web", "recommend") + LineFor("b", "ops", "admin"));
  auto fixed = (*file)->ReloadIfChanged();
  ASSERT_TRUE(fixed.ok());
  EXPECT_TRUE(*fixed);
  EXPECT_EQ((*file)->Current()->size(), 2);
}

TEST_F(AccessTokenFileTest, DeletedFileKeepsTokensUntilItComesBack) {
  Write(LineFor("a", "web", "recommend"));
  auto file = AccessTokenFile::Open(path());
  ASSERT_TRUE(file.ok());
  fs::remove(path());
  EXPECT_EQ((*file)->ReloadIfChanged().status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE((*file)->Current()->Find("a"), nullptr);
  auto quiet = (*file)->ReloadIfChanged();
  ASSERT_TRUE(quiet.ok());
  EXPECT_FALSE(*quiet);
  Write(LineFor("b", "ops", "admin"));
  auto back = (*file)->ReloadIfChanged();
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(*back);
  EXPECT_NE((*file)->Current()->Find("b"), nullptr);
}

TEST_F(AccessTokenFileTest, SymlinkSwapLikeAKubernetesSecretIsNoticed) {
  // A Secret volume: tokens -> ..data/tokens, and an update re-points ..data.
  fs::create_directories(dir_ + "/v1");
  fs::create_directories(dir_ + "/v2");
  std::ofstream(dir_ + "/v1/tokens") << LineFor("a", "web", "recommend");
  std::ofstream(dir_ + "/v2/tokens") << LineFor("b", "web", "recommend");
  fs::create_directory_symlink("v1", dir_ + "/..data");
  fs::create_symlink("..data/tokens", path());
  auto file = AccessTokenFile::Open(path());
  ASSERT_TRUE(file.ok()) << file.status();
  fs::create_directory_symlink("v2", dir_ + "/..data_tmp");
  fs::rename(dir_ + "/..data_tmp", dir_ + "/..data");
  auto reloaded = (*file)->ReloadIfChanged();
  ASSERT_TRUE(reloaded.ok()) << reloaded.status();
  EXPECT_TRUE(*reloaded);
  EXPECT_EQ((*file)->Current()->Find("a"), nullptr);
  EXPECT_NE((*file)->Current()->Find("b"), nullptr);
}

}  // namespace
}  // namespace easymoney
