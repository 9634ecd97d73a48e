#include "core/auth/signing_keys.h"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace easymoney {
namespace {

using ::testing::HasSubstr;

constexpr char kHex[] = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

TEST(SigningKeys, TheFirstKeySignsAndEveryKeyIsFound) {
  auto keys = SigningKeys::Parse(std::string("# rotated 2026-12\nnew ") + kHex + "\n\nold-1 " + kHex + "  # retire\n");
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_EQ(keys->size(), 2);
  EXPECT_EQ(keys->signing().id, "new");
  EXPECT_EQ(keys->signing().secret.size(), 32u);
  ASSERT_NE(keys->Find("old-1"), nullptr);
  EXPECT_EQ(keys->Find("nope"), nullptr);
}

TEST(SigningKeys, RefusesMalformedFilesNamingTheLine) {
  const std::string hex = kHex;
  for (const auto& [text, reason] : std::vector<std::pair<std::string, std::string>>{
           {"", "no key"},
           {"# only a comment\n", "no key"},
           {"k1\n", "line 1"},
           {"k1 " + hex.substr(0, 62), "at least 32"},
           {"k1 " + hex.substr(0, 63), "not hexadecimal"},
           {"k1 " + hex.substr(0, 62) + "zz", "not hexadecimal"},
           {"toolongid " + hex, "1-8"},
           {"k/1 " + hex, "1-8"},
           {"k1 " + hex + "\nk1 " + hex, "line 2: key id k1 appears twice"},
           {"k1 " + hex + " extra", "KEY_ID HEX_SECRET"}}) {
    auto keys = SigningKeys::Parse(text);
    EXPECT_EQ(keys.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(std::string(keys.status().message()), HasSubstr(reason)) << text;
  }
}

TEST(SigningKeys, RandomKeysDiffer) {
  auto a = SigningKeys::Random();
  auto b = SigningKeys::Random();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->signing().secret.size(), SigningKeys::kMinSecretBytes);
  EXPECT_NE(a->signing().secret, b->signing().secret);
}

}  // namespace
}  // namespace easymoney
