#include "core/serving/feedback_recorder.h"

#include <map>
#include <optional>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/testing/test_model.h"

namespace easymoney {
namespace {

using ::testing::HasSubstr;

std::shared_ptr<const Model> Version(int64_t version) {
  testing::TestModel test = testing::MakeTestModel();
  auto model = Model::FromArrays(version, test.manifest, test.arrays);
  EXPECT_TRUE(model.ok()) << model.status();
  return *model;
}

constexpr char kSecret[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

std::shared_ptr<const SigningKeys> Keys(absl::string_view text) {
  auto keys = SigningKeys::Parse(text);
  EXPECT_TRUE(keys.ok()) << keys.status();
  return std::make_shared<const SigningKeys>(*std::move(keys));
}

// Keys the tests may swap, as a re-read key file would.
class KeyHolder {
 public:
  KeyHolder() : keys_(Keys(absl::StrCat("k1 ", kSecret))) {}
  void Set(std::shared_ptr<const SigningKeys> keys) {
    absl::MutexLock lock(&mu_);
    keys_ = std::move(keys);
  }
  RequestIdSigner::KeySource Source() {
    return [this] {
      absl::MutexLock lock(&mu_);
      return keys_;
    };
  }

 private:
  absl::Mutex mu_;
  std::shared_ptr<const SigningKeys> keys_ ABSL_GUARDED_BY(mu_);
};

// An answer of version 3 (stable) to customer "10" with products a and b.
AnswerClaim Answer(absl::Duration age = absl::ZeroDuration()) {
  return AnswerClaim{.model_version = 3,
                     .variant = Variant::kStable,
                     .served_unix_ms = absl::ToUnixMillis(absl::Now() - age),
                     .product_indices = {0, 1}};
}

FeedbackInput Input(absl::string_view request_id, absl::string_view product, FeedbackEvent event) {
  FeedbackInput input;
  input.request_id = request_id;
  input.customer_id = "10";
  input.product_id = product;
  input.event = event;
  input.model_version = 3;
  return input;
}

// Records synchronously: waits for the group commit.
absl::StatusOr<bool> RecordNow(FeedbackRecorder& recorder, const FeedbackInput& input) {
  absl::Mutex mu;
  std::optional<absl::StatusOr<bool>> result;
  recorder.Record(input, [&](absl::StatusOr<bool> r) {
    absl::MutexLock lock(&mu);
    result = std::move(r);
  });
  absl::MutexLock lock(&mu);
  mu.Await(absl::Condition(+[](std::optional<absl::StatusOr<bool>>* r) { return r->has_value(); }, &result));
  return *result;
}

// True for an acknowledged duplicate; fails the test on an error.
bool IsDuplicate(const absl::StatusOr<bool>& result) {
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() && *result;
}

EventLog::Options Opts(const std::string& dir) {
  EventLog::Options options;
  options.directory = dir;
  return options;
}

TEST(FeedbackRecorder, RefusesWhatTheServerCannotHaveRecommended) {
  auto log = EventLog::Open(Opts(testing::MakeTempDir("feedback_refuses")));
  ASSERT_TRUE(log.ok());
  KeyHolder keys;
  RequestIdSigner ids(keys.Source());
  FeedbackRecorder recorder(log->get(), &ids, {});
  const std::string r1 = ids.Issue(Answer(), "10");
  // No version has served yet.
  auto result = RecordNow(recorder, Input(r1, "a", FeedbackEvent::kClick));
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("model_version 3"));
  recorder.AddVersion(*Version(3));
  result = RecordNow(recorder, Input(r1, "zz", FeedbackEvent::kClick));
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("product_id 'zz'"));
  result = RecordNow(recorder, Input("", "a", FeedbackEvent::kClick));
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("request_id is empty"));
  FeedbackInput no_customer = Input(r1, "a", FeedbackEvent::kClick);
  no_customer.customer_id = "";
  EXPECT_THAT(std::string(RecordNow(recorder, no_customer).status().message()), HasSubstr("customer_id is empty"));
  const std::string long_id(5000, 'x');
  EXPECT_THAT(std::string(RecordNow(recorder, Input(long_id, "a", FeedbackEvent::kClick)).status().message()),
              HasSubstr("at most 4096"));
  EXPECT_TRUE(RecordNow(recorder, Input(r1, "a", FeedbackEvent::kClick)).ok());
}

TEST(FeedbackRecorder, AcceptsOnlyTheCustomerProductsVersionAndVariantOfASignedAnswer) {
  auto log = EventLog::Open(Opts(testing::MakeTempDir("feedback_signed")));
  ASSERT_TRUE(log.ok());
  KeyHolder keys;
  RequestIdSigner ids(keys.Source());
  FeedbackRecorder recorder(log->get(), &ids, {});
  recorder.AddVersion(*Version(3));
  recorder.AddVersion(*Version(4));
  const std::string id = ids.Issue(Answer(), "10");
  const auto code_of = [&](FeedbackInput input) { return RecordNow(recorder, input).status().code(); };
  constexpr auto kInvalid = absl::StatusCode::kInvalidArgument;

  // Never issued: made up, altered, or issued to another customer.
  EXPECT_EQ(code_of(Input("0123456789abcde", "a", FeedbackEvent::kClick)), kInvalid);
  std::string altered = id;
  altered[altered.size() / 2] = altered[altered.size() / 2] == 'A' ? 'B' : 'A';
  EXPECT_EQ(code_of(Input(altered, "a", FeedbackEvent::kClick)), kInvalid);
  FeedbackInput other_customer = Input(id, "a", FeedbackEvent::kClick);
  other_customer.customer_id = "11";
  EXPECT_EQ(code_of(other_customer), kInvalid);
  EXPECT_EQ(recorder.refused(FeedbackRefusal::kNotIssued), 3);

  // Issued, but not about what the answer held.
  EXPECT_EQ(code_of(Input(id, "c", FeedbackEvent::kClick)), kInvalid);  // In the catalogue, not the answer.
  FeedbackInput canary = Input(id, "a", FeedbackEvent::kClick);
  canary.variant = Variant::kCanary;
  EXPECT_EQ(code_of(canary), kInvalid);
  FeedbackInput other_version = Input(id, "a", FeedbackEvent::kClick);
  other_version.model_version = 4;
  EXPECT_EQ(code_of(other_version), kInvalid);
  EXPECT_EQ(recorder.refused(FeedbackRefusal::kNotInAnswer), 3);

  // Outside the window: an answer served too long ago, an event before the
  // answer or in the year 2500.
  const std::string old = ids.Issue(Answer(absl::Hours(24 * 31)), "10");
  EXPECT_EQ(code_of(Input(old, "a", FeedbackEvent::kClick)), kInvalid);
  FeedbackInput future = Input(id, "a", FeedbackEvent::kClick);
  future.time_unix_ms = absl::ToUnixMillis(absl::FromCivil(absl::CivilSecond(2500, 1, 1), absl::UTCTimeZone()));
  EXPECT_EQ(code_of(future), kInvalid);
  FeedbackInput before = Input(id, "a", FeedbackEvent::kClick);
  before.time_unix_ms = absl::ToUnixMillis(absl::Now() - absl::Hours(1));
  EXPECT_EQ(code_of(before), kInvalid);
  EXPECT_EQ(recorder.refused(FeedbackRefusal::kOutsideWindow), 3);

  // The answer's own facts, with the customer id written with leading zeros.
  FeedbackInput good = Input(id, "b", FeedbackEvent::kConversion);
  good.customer_id = "0010";
  good.time_unix_ms = absl::ToUnixMillis(absl::Now());
  EXPECT_FALSE(IsDuplicate(RecordNow(recorder, good)));
  (*log)->Flush();
  int feedback = 0;
  ASSERT_TRUE(ReadEventLog((*log)->directory(), [&](const easymoney::model::v1::EventRecord& record) {
                if (record.kind() == "feedback") ++feedback;
              }).ok());
  EXPECT_EQ(feedback, 1) << "refused feedback reached the event log";
}

TEST(FeedbackRecorder, IdsSignedWithARotatedOutKeyVerifyUntilTheKeyIsRemoved) {
  auto log = EventLog::Open(Opts(testing::MakeTempDir("feedback_rotation")));
  ASSERT_TRUE(log.ok());
  KeyHolder keys;
  RequestIdSigner ids(keys.Source());
  FeedbackRecorder recorder(log->get(), &ids, {});
  recorder.AddVersion(*Version(3));
  const std::string signed_by_k1 = ids.Issue(Answer(), "10");
  const std::string k2 = "k2 fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";
  keys.Set(Keys(absl::StrCat(k2, "\nk1 ", kSecret)));  // k2 signs now; k1 still verifies.
  const std::string signed_by_k2 = ids.Issue(Answer(), "10");
  EXPECT_TRUE(RecordNow(recorder, Input(signed_by_k1, "a", FeedbackEvent::kClick)).ok());
  EXPECT_TRUE(RecordNow(recorder, Input(signed_by_k2, "a", FeedbackEvent::kClick)).ok());
  keys.Set(Keys(k2));
  auto result = RecordNow(recorder, Input(signed_by_k1, "b", FeedbackEvent::kClick));
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("does not hold"));
  EXPECT_TRUE(RecordNow(recorder, Input(signed_by_k2, "b", FeedbackEvent::kClick)).ok());
}

TEST(FeedbackRecorder, CountsDuplicatesOnceEvenAcrossARestart) {
  const std::string dir = testing::MakeTempDir("feedback_dedup");
  KeyHolder keys;
  RequestIdSigner ids(keys.Source());
  const std::string r1 = ids.Issue(Answer(), "10");
  const std::string r2 = ids.Issue(Answer(), "10");
  {
    auto log = EventLog::Open(Opts(dir));
    ASSERT_TRUE(log.ok());
    FeedbackRecorder recorder(log->get(), &ids, {});
    recorder.AddVersion(*Version(3));
    EXPECT_FALSE(IsDuplicate(RecordNow(recorder, Input(r1, "a", FeedbackEvent::kImpression))));
    EXPECT_TRUE(IsDuplicate(RecordNow(recorder, Input(r1, "a", FeedbackEvent::kImpression))));
    // Another event or product of the same answer is not a duplicate.
    EXPECT_FALSE(IsDuplicate(RecordNow(recorder, Input(r1, "a", FeedbackEvent::kClick))));
    EXPECT_FALSE(IsDuplicate(RecordNow(recorder, Input(r1, "b", FeedbackEvent::kImpression))));
  }
  auto log = EventLog::Open(Opts(dir));
  ASSERT_TRUE(log.ok());
  FeedbackRecorder recorder(log->get(), &ids, {});
  recorder.AddVersion(*Version(3));
  EXPECT_EQ(recorder.LoadHistory().value_or(-1), 3);
  EXPECT_TRUE(IsDuplicate(RecordNow(recorder, Input(r1, "a", FeedbackEvent::kClick))));
  EXPECT_FALSE(IsDuplicate(RecordNow(recorder, Input(r2, "a", FeedbackEvent::kConversion))));
  (*log)->Flush();
  int feedback = 0;
  auto stats = ReadEventLog(dir, [&](const easymoney::model::v1::EventRecord& record) {
    EXPECT_EQ(record.kind(), "feedback");
    EXPECT_EQ(record.model_version(), 3);
    EXPECT_EQ(record.customer_id(), "10");
    ++feedback;
  });
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(feedback, 4);
}

TEST(FeedbackRecorder, ForgetsOnlyBeyondTwiceItsCapacity) {
  auto log = EventLog::Open(Opts(testing::MakeTempDir("feedback_capacity")));
  ASSERT_TRUE(log.ok());
  KeyHolder keys;
  RequestIdSigner ids(keys.Source());
  FeedbackRecorder recorder(log->get(), &ids, {.dedup_capacity = 2});
  std::map<std::string, std::string> issued;
  for (const char* name : {"r1", "r2", "r3", "r4", "r5"}) issued[name] = ids.Issue(Answer(), "10");
  recorder.AddVersion(*Version(3));
  for (const char* name : {"r1", "r2", "r3"}) {
    EXPECT_FALSE(IsDuplicate(RecordNow(recorder, Input(issued[name], "a", FeedbackEvent::kClick))));
  }
  EXPECT_TRUE(IsDuplicate(RecordNow(recorder, Input(issued["r1"], "a", FeedbackEvent::kClick))));
  for (const char* name : {"r4", "r5"}) {
    RecordNow(recorder, Input(issued[name], "a", FeedbackEvent::kClick)).IgnoreError();
  }
  // r1 has aged out of both generations.
  EXPECT_FALSE(IsDuplicate(RecordNow(recorder, Input(issued["r1"], "a", FeedbackEvent::kClick))));
}

}  // namespace
}  // namespace easymoney
