#include "core/serving/feedback_recorder.h"

#include <optional>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

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
  FeedbackRecorder recorder(log->get());
  // No version has served yet.
  auto result = RecordNow(recorder, Input("r1", "a", FeedbackEvent::kClick));
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("model_version 3"));
  recorder.AddVersion(*Version(3));
  result = RecordNow(recorder, Input("r1", "zz", FeedbackEvent::kClick));
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("product_id 'zz'"));
  result = RecordNow(recorder, Input("", "a", FeedbackEvent::kClick));
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("request_id is empty"));
  FeedbackInput no_customer = Input("r1", "a", FeedbackEvent::kClick);
  no_customer.customer_id = "";
  EXPECT_THAT(std::string(RecordNow(recorder, no_customer).status().message()), HasSubstr("customer_id is empty"));
  const std::string long_id(500, 'x');
  EXPECT_THAT(std::string(RecordNow(recorder, Input(long_id, "a", FeedbackEvent::kClick)).status().message()),
              HasSubstr("at most 128"));
}

TEST(FeedbackRecorder, CountsDuplicatesOnceEvenAcrossARestart) {
  const std::string dir = testing::MakeTempDir("feedback_dedup");
  {
    auto log = EventLog::Open(Opts(dir));
    ASSERT_TRUE(log.ok());
    FeedbackRecorder recorder(log->get());
    recorder.AddVersion(*Version(3));
    EXPECT_FALSE(IsDuplicate(RecordNow(recorder, Input("r1", "a", FeedbackEvent::kImpression))));
    EXPECT_TRUE(IsDuplicate(RecordNow(recorder, Input("r1", "a", FeedbackEvent::kImpression))));
    // Another event or product of the same answer is not a duplicate.
    EXPECT_FALSE(IsDuplicate(RecordNow(recorder, Input("r1", "a", FeedbackEvent::kClick))));
    EXPECT_FALSE(IsDuplicate(RecordNow(recorder, Input("r1", "b", FeedbackEvent::kImpression))));
  }
  auto log = EventLog::Open(Opts(dir));
  ASSERT_TRUE(log.ok());
  FeedbackRecorder recorder(log->get());
  recorder.AddVersion(*Version(3));
  EXPECT_EQ(recorder.LoadHistory().value_or(-1), 3);
  EXPECT_TRUE(IsDuplicate(RecordNow(recorder, Input("r1", "a", FeedbackEvent::kClick))));
  EXPECT_FALSE(IsDuplicate(RecordNow(recorder, Input("r2", "a", FeedbackEvent::kConversion))));
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
  FeedbackRecorder recorder(log->get(), /*dedup_capacity=*/2);
  recorder.AddVersion(*Version(3));
  for (const char* id : {"r1", "r2", "r3"}) {
    EXPECT_FALSE(IsDuplicate(RecordNow(recorder, Input(id, "a", FeedbackEvent::kClick))));
  }
  EXPECT_TRUE(IsDuplicate(RecordNow(recorder, Input("r1", "a", FeedbackEvent::kClick))));
  for (const char* id : {"r4", "r5"}) RecordNow(recorder, Input(id, "a", FeedbackEvent::kClick)).IgnoreError();
  // r1 has aged out of both generations.
  EXPECT_FALSE(IsDuplicate(RecordNow(recorder, Input("r1", "a", FeedbackEvent::kClick))));
}

}  // namespace
}  // namespace easymoney
