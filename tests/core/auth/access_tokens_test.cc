#include "core/auth/access_tokens.h"

#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "core/util/sha256.h"

namespace easymoney {
namespace {

using ::testing::HasSubstr;

std::string LineFor(const std::string& token, const std::string& name, const std::string& roles) {
  return absl::StrCat("sha256:", Sha256Hex(token), " ", name, " ", roles, "\n");
}

TEST(AccessTokensTest, FindsHoldersByTokenWithTheirRoles) {
  const std::string text = absl::StrCat("# tokens\n\n", LineFor("backend-secret", "web", "recommend"),
                                        "  ", LineFor("ops-secret", "alice@ops", "admin"),
                                        LineFor("both-secret", "svc.batch_1", "recommend,admin"), "# end\n");
  auto tokens = AccessTokens::Parse(text);
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  EXPECT_EQ(tokens->size(), 3);
  const TokenIdentity* web = tokens->Find("backend-secret");
  ASSERT_NE(web, nullptr);
  EXPECT_EQ(web->name, "web");
  EXPECT_TRUE(web->Has(Role::kRecommend));
  EXPECT_FALSE(web->Has(Role::kAdmin));
  const TokenIdentity* ops = tokens->Find("ops-secret");
  ASSERT_NE(ops, nullptr);
  EXPECT_TRUE(ops->Has(Role::kAdmin));
  EXPECT_FALSE(ops->Has(Role::kRecommend)) << "admin must not imply recommend";
  const TokenIdentity* both = tokens->Find("both-secret");
  ASSERT_NE(both, nullptr);
  EXPECT_TRUE(both->Has(Role::kAdmin) && both->Has(Role::kRecommend));
}

TEST(AccessTokensTest, UnknownEmptyAndNearMissTokensFindNobody) {
  auto tokens = AccessTokens::Parse(LineFor("backend-secret", "web", "recommend"));
  ASSERT_TRUE(tokens.ok());
  EXPECT_EQ(tokens->Find(""), nullptr);
  EXPECT_EQ(tokens->Find("backend-secreT"), nullptr);
  EXPECT_EQ(tokens->Find("backend-secret "), nullptr);
  // The file's hash itself is not a token: a leaked file grants nothing.
  EXPECT_EQ(tokens->Find(Sha256Hex("backend-secret")), nullptr);
  EXPECT_EQ(tokens->Find(absl::StrCat("sha256:", Sha256Hex("backend-secret"))), nullptr);
}

TEST(AccessTokensTest, CommentAfterALineIsIgnored) {
  auto tokens = AccessTokens::Parse(absl::StrCat("sha256:", Sha256Hex("t"), " web recommend # the web backend\r\n"));
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  EXPECT_NE(tokens->Find("t"), nullptr);
}

TEST(AccessTokensTest, EmptyFileHasNoTokens) {
  auto tokens = AccessTokens::Parse("# nobody yet\n");
  ASSERT_TRUE(tokens.ok());
  EXPECT_EQ(tokens->size(), 0);
  EXPECT_EQ(tokens->Find("anything"), nullptr);
}

TEST(AccessTokensTest, RefusesMalformedLinesNamingTheLine) {
  const std::string hash = Sha256Hex("t");
  const struct {
    std::string text;
    std::string message;
  } cases[] = {
      {absl::StrCat("\n\nsha256:", hash, " web\n"), "line 3: expected"},
      {absl::StrCat("sha256:", hash, " web recommend extra\n"), "line 1: expected"},
      {absl::StrCat("md5:", hash, " web recommend\n"), "must start with \"sha256:\""},
      {absl::StrCat("sha256:", hash.substr(1), " web recommend\n"), "64 lower-case hex"},
      {absl::StrCat("sha256:", absl::AsciiStrToUpper(hash), " web recommend\n"), "64 lower-case hex"},
      {"sha256:t web recommend\n", "64 lower-case hex"},
      {absl::StrCat("sha256:", hash, " we\"b recommend\n"), "names are"},
      {absl::StrCat("sha256:", hash, " ", std::string(65, 'a'), " recommend\n"), "names are"},
      {absl::StrCat("sha256:", hash, " web root\n"), "unknown role \"root\""},
      {absl::StrCat("sha256:", hash, " web recommend,\n"), "unknown role \"\""},
      {absl::StrCat("sha256:", hash, " web recommend\nsha256:", hash, " other admin\n"),
       "line 2: the same token is listed again (first as \"web\")"},
  };
  for (const auto& c : cases) {
    auto tokens = AccessTokens::Parse(c.text);
    ASSERT_FALSE(tokens.ok()) << c.text;
    EXPECT_EQ(tokens.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(tokens.status().message(), HasSubstr(c.message)) << c.text;
  }
}

TEST(AccessTokensTest, NewTokensAreLongRandomAndHeaderSafe) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    auto token = NewAccessToken();
    ASSERT_TRUE(token.ok());
    EXPECT_EQ(token->size(), 43u);
    EXPECT_EQ(token->find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
              std::string::npos)
        << *token;
    seen.insert(*token);
  }
  EXPECT_EQ(seen.size(), 100u);
}

TEST(AccessTokensTest, TokenLineRoundTripsThroughParse) {
  auto token = NewAccessToken();
  ASSERT_TRUE(token.ok());
  auto line = AccessTokenLine(*token, "ops-bob", "admin,recommend");
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(line->find(*token), std::string::npos) << "the line must not contain the token";
  auto tokens = AccessTokens::Parse(*line);
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  const TokenIdentity* bob = tokens->Find(*token);
  ASSERT_NE(bob, nullptr);
  EXPECT_EQ(bob->name, "ops-bob");
  EXPECT_TRUE(bob->Has(Role::kAdmin) && bob->Has(Role::kRecommend));
  EXPECT_FALSE(AccessTokenLine(*token, "bad name", "admin").ok());
  EXPECT_FALSE(AccessTokenLine(*token, "bob", "superuser").ok());
  EXPECT_FALSE(AccessTokenLine("", "bob", "admin").ok());
}

TEST(AccessTokensTest, BearerTokenParsesTheAuthorizationValue) {
  EXPECT_EQ(BearerToken("Bearer abc"), "abc");
  EXPECT_EQ(BearerToken("bearer abc"), "abc");
  EXPECT_EQ(BearerToken("BEARER  abc "), "abc");
  EXPECT_EQ(BearerToken("Bearer "), "");
  EXPECT_EQ(BearerToken("Basic dXNlcjpwYXNz"), "");
  EXPECT_EQ(BearerToken("abc"), "");
  EXPECT_EQ(BearerToken(""), "");
}

}  // namespace
}  // namespace easymoney
