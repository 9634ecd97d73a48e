#include "core/serving/request_id.h"

#include <set>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"

namespace easymoney {
namespace {

using ::testing::HasSubstr;

RequestIdSigner::KeySource Source(absl::string_view text) {
  auto keys = SigningKeys::Parse(text);
  EXPECT_TRUE(keys.ok()) << keys.status();
  auto shared = std::make_shared<const SigningKeys>(*std::move(keys));
  return [shared] { return shared; };
}

constexpr char kKey[] = "a 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

AnswerClaim Claim() {
  return AnswerClaim{.model_version = 1234567,
                     .variant = Variant::kCanary,
                     .served_unix_ms = 1'796'000'000'000,
                     .product_indices = {23, 0, 1500, 7, 2}};
}

TEST(RequestIdSigner, AnIssuedIdVerifiesForItsCustomerWithItsClaim) {
  RequestIdSigner ids(Source(kKey));
  const std::string id = ids.Issue(Claim(), "98765");
  EXPECT_LE(id.size(), 64u) << id;
  EXPECT_EQ(id.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
            std::string::npos)
      << "not base64url: " << id;
  auto claim = ids.Verify(id, "98765");
  ASSERT_TRUE(claim.ok()) << claim.status();
  EXPECT_EQ(*claim, Claim());
  // The same customer written with leading zeros (CanonicalCustomerId).
  EXPECT_TRUE(ids.Verify(id, "0098765").ok());
}

TEST(RequestIdSigner, TwoIdenticalAnswersGetDifferentIds) {
  RequestIdSigner ids(Source(kKey));
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) seen.insert(ids.Issue(Claim(), "1"));
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(RequestIdSigner, RefusesAnotherCustomerEveryAlteredCharacterAndAnotherKey) {
  RequestIdSigner ids(Source(kKey));
  const std::string id = ids.Issue(Claim(), "98765");
  auto other = ids.Verify(id, "98766");
  EXPECT_EQ(other.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(other.status().message()), HasSubstr("does not belong to this customer_id"));
  for (size_t i = 0; i < id.size(); ++i) {
    std::string altered = id;
    altered[i] = altered[i] == 'x' ? 'y' : 'x';
    EXPECT_FALSE(ids.Verify(altered, "98765").ok()) << "position " << i;
  }
  for (const std::string& bad : {std::string(), std::string("!!"), id.substr(0, 10), id + "AA"}) {
    EXPECT_EQ(ids.Verify(bad, "98765").status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  // The same key id with another secret (another deployment) and another
  // key id both fail.
  RequestIdSigner impostor(Source("a ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"));
  EXPECT_FALSE(impostor.Verify(id, "98765").ok());
  EXPECT_FALSE(ids.Verify(impostor.Issue(Claim(), "98765"), "98765").ok());
  RequestIdSigner other_key(Source("b ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"));
  EXPECT_THAT(std::string(ids.Verify(other_key.Issue(Claim(), "98765"), "98765").status().message()),
              HasSubstr("does not hold"));
}

}  // namespace
}  // namespace easymoney
