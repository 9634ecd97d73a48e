// Requests at and beyond the limits, over a real loopback gRPC channel
// (docs/reliability.md): the largest message, batch and ids the server takes,
// what it answers past them, and that it keeps serving afterwards.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <string>

#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/byte_buffer.h>

#include "absl/strings/str_cat.h"
#include "client/recommender_client.h"
#include "core/model/model_directory.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/recommender_server.h"
#include "server/recommender_service.h"
#include "server/server_settings.h"
#include "tests/testing/feedback_about.h"
#include "tests/testing/loopback_server.h"
#include "tests/testing/test_model.h"

namespace easymoney {
namespace {

namespace fs = std::filesystem;
namespace v1 = easymoney::recommender::v1;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kRecommendMethod[] = "/easymoney.recommender.v1.Recommender/RecommendProducts";
constexpr char kFeedbackMethod[] = "/easymoney.recommender.v1.Recommender/ReportFeedback";

// Protobuf wire format by hand, for bytes the generated code would not send.
std::string Varint(uint64_t value) {
  std::string out;
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
  return out;
}
std::string BytesField(int field, const std::string& bytes) {
  return Varint(static_cast<uint64_t>(field) << 3 | 2) + Varint(bytes.size()) + bytes;
}
std::string VarintField(int field, uint64_t value) { return Varint(static_cast<uint64_t>(field) << 3) + Varint(value); }

// The hand-made test model (products a, b, c, d; customers 10, 20, 30) as
// version 1, with an event log so ReportFeedback validates its input.
class RequestLimitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("limits");
    const testing::TestModel model = testing::MakeTestModel();
    ASSERT_TRUE(WriteModelVersion(dir_ + "/models", model.manifest, model.arrays).ok());
    RecommenderServer::Options options = testing::LoopbackServerOptions(dir_ + "/models", dir_ + "/audit.log");
    options.event_log_dir = dir_ + "/events";
    auto server = RecommenderServer::Create(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    RecommenderClient::Options client_options;
    client_options.target = absl::StrCat("127.0.0.1:", server_->port());
    auto client = RecommenderClient::Create(client_options);
    ASSERT_TRUE(client.ok());
    client_ = *std::move(client);
    channel_ = grpc::CreateChannel(client_options.target, grpc::InsecureChannelCredentials());
  }
  void TearDown() override {
    client_.reset();
    server_.reset();
    fs::remove_all(dir_);
  }

  absl::StatusOr<v1::RecommendProductsResponse> Ask(const std::string& customer, int num_results = 0) {
    v1::RecommendProductsRequest request;
    request.set_customer_id(customer);
    request.set_num_results(num_results);
    return client_->Recommend(request);
  }

  void ExpectStillServing() {
    auto response = Ask("10");
    ASSERT_TRUE(response.ok()) << response.status();
    EXPECT_EQ(response->model_version(), 1);
    EXPECT_EQ(response->products_size(), 3);
  }

  // Sends `bytes` as the serialized request of `method`, unchecked.
  grpc::Status RawCall(const std::string& method, const std::string& bytes) {
    grpc::GenericStub stub(channel_);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    grpc::CompletionQueue queue;
    grpc::Slice slice(bytes);
    grpc::ByteBuffer request(&slice, 1);
    auto call = stub.PrepareUnaryCall(&context, method, request, &queue);
    call->StartCall();
    grpc::ByteBuffer response;
    grpc::Status status;
    call->Finish(&response, &status, reinterpret_cast<void*>(1));
    void* tag = nullptr;
    bool ok = false;
    EXPECT_TRUE(queue.Next(&tag, &ok));
    queue.Shutdown();
    while (queue.Next(&tag, &ok)) {
    }
    return status;
  }

  std::string dir_;
  std::unique_ptr<RecommenderServer> server_;
  std::unique_ptr<RecommenderClient> client_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(RequestLimitsTest, RequestOfTheMaximumSizeIsServedAndOneByteMoreIsResourceExhausted) {
  // current_holdings of product "a" repeated (3 bytes per entry on the wire)
  // up to within an entry of the limit.
  v1::RecommendProductsRequest request;
  request.set_customer_id("10");
  request.set_include_held(true);
  auto* held = request.mutable_current_holdings()->mutable_product_ids();
  while (request.ByteSizeLong() + 3 <= static_cast<size_t>(kMaxRequestBytes)) {
    const size_t entries = (kMaxRequestBytes - request.ByteSizeLong()) / 3;
    for (size_t i = 0; i < std::max<size_t>(entries, 1); ++i) held->Add("a");
  }
  while (request.ByteSizeLong() > static_cast<size_t>(kMaxRequestBytes)) held->RemoveLast();
  ASSERT_GT(request.ByteSizeLong(), static_cast<size_t>(kMaxRequestBytes) - 3);
  auto largest = client_->Recommend(request);
  ASSERT_TRUE(largest.ok()) << largest.status();
  EXPECT_EQ(largest->products_size(), 4);

  // One byte more (a leading zero on the customer id): gRPC refuses the
  // message for its size before any field is looked at.
  while (request.ByteSizeLong() <= static_cast<size_t>(kMaxRequestBytes)) {
    request.set_customer_id("0" + request.customer_id());
  }
  ASSERT_LE(request.ByteSizeLong(), static_cast<size_t>(kMaxRequestBytes) + 1);
  auto too_large = client_->Recommend(request);
  EXPECT_EQ(too_large.status().code(), absl::StatusCode::kResourceExhausted) << too_large.status();
  ExpectStillServing();
}

TEST_F(RequestLimitsTest, BatchOfFiveHundredIsAnsweredAndFiveHundredAndOneIsInvalidArgument) {
  v1::RecommendProductsBatchRequest batch;
  for (int i = 0; i < kMaxBatchSize; ++i) batch.add_requests()->set_customer_id(i % 2 == 0 ? "10" : "99");
  auto full = client_->RecommendBatch(batch);
  ASSERT_TRUE(full.ok()) << full.status();
  ASSERT_EQ(full->results_size(), kMaxBatchSize);
  for (const auto& result : full->results()) EXPECT_EQ(result.code(), 0) << result.message();

  batch.add_requests()->set_customer_id("10");
  auto over = client_->RecommendBatch(batch);
  EXPECT_EQ(over.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(over.status().message(), HasSubstr("requests has 501 entries; at most 500 per batch"));
  ExpectStillServing();
}

TEST_F(RequestLimitsTest, MegabyteIdsAreRefusedWithShortMessagesThatDoNotEchoThem) {
  const std::string megabyte(1 << 20, '7');
  // Messages quote at most the first 64 characters of a bad value.
  const std::string echo(65, '7');

  auto customer = Ask(megabyte);
  EXPECT_EQ(customer.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(customer.status().message(), HasSubstr("customer_id is 1048576 characters long"));
  EXPECT_LT(customer.status().message().size(), 200u);

  v1::RecommendProductsBatchRequest batch;
  batch.add_requests()->set_customer_id(megabyte);
  batch.add_requests()->set_customer_id("10");
  auto in_batch = client_->RecommendBatch(batch);
  ASSERT_TRUE(in_batch.ok()) << in_batch.status();
  EXPECT_EQ(in_batch->results(0).code(), static_cast<int>(absl::StatusCode::kInvalidArgument));
  EXPECT_LT(in_batch->results(0).message().size(), 200u);
  EXPECT_EQ(in_batch->results(1).code(), 0);

  v1::RecommendProductsRequest holdings;
  holdings.set_customer_id("10");
  holdings.mutable_current_holdings()->add_product_ids(megabyte);
  auto product = client_->Recommend(holdings);
  EXPECT_EQ(product.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(product.status().message(), HasSubstr("current_holdings.product_ids[0]: unknown product id"));
  EXPECT_LT(product.status().message().size(), 200u);
  EXPECT_THAT(std::string(product.status().message()), Not(HasSubstr(echo)));

  v1::RecommendProductsRequest profile;
  profile.set_customer_id("99");
  profile.mutable_profile()->set_segment(megabyte);
  auto segment = client_->Recommend(profile);
  EXPECT_EQ(segment.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(segment.status().message(), HasSubstr("profile.segment"));
  EXPECT_LT(segment.status().message().size(), 200u);
  EXPECT_THAT(std::string(segment.status().message()), Not(HasSubstr(echo)));

  v1::ReportFeedbackRequest feedback;
  feedback.set_request_id(megabyte);
  feedback.set_model_version(1);
  feedback.set_variant(v1::VARIANT_STABLE);
  feedback.set_customer_id("10");
  feedback.set_product_id("b");
  feedback.set_event(v1::FEEDBACK_EVENT_CLICK);
  auto reported = client_->ReportFeedback(feedback);
  EXPECT_EQ(reported.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(reported.status().message(), HasSubstr("request_id is 1048576 bytes long; at most 4096"));
  ExpectStillServing();
}

TEST_F(RequestLimitsTest, UnknownEnumValuesAreInvalidArgument) {
  // proto3 enums are open: 42 arrives as 42, and the server must refuse it.
  // (RecommendProductsRequest has no enum field; ReportFeedbackRequest has
  // two.)
  v1::RecommendProductsRequest ask;
  ask.set_customer_id("10");
  auto answer = client_->Recommend(ask);
  ASSERT_TRUE(answer.ok()) << answer.status();
  ASSERT_GT(answer->products_size(), 0);
  v1::ReportFeedbackRequest feedback = testing::FeedbackAbout(*answer, "10", v1::FEEDBACK_EVENT_CLICK);
  feedback.set_variant(v1::VARIANT_STABLE);
  for (int event : {42, 0, -1, std::numeric_limits<int32_t>::max()}) {
    SCOPED_TRACE(event);
    feedback.set_event(static_cast<v1::FeedbackEvent>(event));
    auto reported = client_->ReportFeedback(feedback);
    EXPECT_EQ(reported.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(reported.status().message(),
                HasSubstr(absl::StrCat("event ", event, " is not IMPRESSION (1), CLICK (2) or CONVERSION (3)")));
  }
  feedback.set_event(v1::FEEDBACK_EVENT_CLICK);
  for (int variant : {7, 0, -5}) {
    SCOPED_TRACE(variant);
    feedback.set_variant(static_cast<v1::Variant>(variant));
    auto reported = client_->ReportFeedback(feedback);
    EXPECT_EQ(reported.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(reported.status().message(), HasSubstr(absl::StrCat("variant ", variant, " is not STABLE (1)")));
  }
  // The same request with known values is recorded.
  feedback.set_variant(v1::VARIANT_STABLE);
  EXPECT_TRUE(client_->ReportFeedback(feedback).ok());
  ExpectStillServing();
}

TEST_F(RequestLimitsTest, NonUtf8StringFieldsAreRefusedBeforeAnyHandlerRunsAndTheServerKeepsServing) {
  // proto3 string fields must hold UTF-8: the generated parser refuses the
  // message, so no handler runs. gRPC's callback API (which the service
  // uses) then answers UNIMPLEMENTED with an empty message, not INTERNAL or
  // INVALID_ARGUMENT (grpcpp/impl/codegen/server_callback_handlers.h, 1.51).
  const std::string bad = "\xff\xfe";
  const std::string customer = BytesField(1, bad + "10");
  const std::string holding = BytesField(1, "10") + BytesField(4, BytesField(1, "a" + bad));
  const std::string profile = BytesField(1, "99") + BytesField(5, BytesField(4, bad));
  for (const std::string& request : {customer, holding, profile}) {
    const grpc::Status status = RawCall(kRecommendMethod, request);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED) << status.error_message();
    EXPECT_EQ(status.error_message(), "");
  }
  const std::string feedback = BytesField(1, "0123456789abcde") + VarintField(2, 1) + VarintField(3, 1) +
                               BytesField(4, "10") + BytesField(5, "b" + bad) + VarintField(6, 2);
  EXPECT_EQ(RawCall(kFeedbackMethod, feedback).error_code(), grpc::StatusCode::UNIMPLEMENTED);

  // The same bytes with valid UTF-8 are parsed and answered: it is the
  // encoding that was refused, not the hand-made framing.
  EXPECT_EQ(RawCall(kRecommendMethod, BytesField(1, "10")).error_code(), grpc::StatusCode::OK);
  EXPECT_EQ(RawCall(kRecommendMethod, BytesField(1, "\xc3\xa9" "10")).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  ExpectStillServing();
}

TEST_F(RequestLimitsTest, NumResultsAtTheCatalogueBoundaries) {
  // Customer 99 is unknown and holds nothing: all 4 products are eligible.
  auto by_default = Ask("99", 0);
  ASSERT_TRUE(by_default.ok()) << by_default.status();
  EXPECT_EQ(by_default->products_size(), 4);  // The default 5, capped at the catalogue.
  auto whole = Ask("99", 4);
  ASSERT_TRUE(whole.ok()) << whole.status();
  EXPECT_EQ(whole->products_size(), 4);
  auto one = Ask("99", 1);
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_EQ(one->products_size(), 1);
  for (int num_results : {5, -1, std::numeric_limits<int32_t>::max(), std::numeric_limits<int32_t>::min()}) {
    SCOPED_TRACE(num_results);
    auto refused = Ask("99", num_results);
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(refused.status().message(),
                HasSubstr(absl::StrCat("num_results ", num_results, " is outside [0, 4]")));
  }
  ExpectStillServing();
}

TEST_F(RequestLimitsTest, TenThousandCurrentHoldingsAreFoldedIn) {
  v1::RecommendProductsRequest request;
  request.set_customer_id("10");
  request.set_include_held(true);
  for (int i = 0; i < 10000; ++i) request.mutable_current_holdings()->add_product_ids(std::string(1, "abcd"[i % 4]));
  auto response = client_->Recommend(request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->strategy(), v1::STRATEGY_FOLD_IN);  // Differs from the snapshot {a}.
  EXPECT_EQ(response->products_size(), 4);

  request.set_include_held(false);
  auto all_held = client_->Recommend(request);
  ASSERT_TRUE(all_held.ok()) << all_held.status();
  EXPECT_EQ(all_held->products_size(), 0);

  request.mutable_current_holdings()->set_product_ids(9999, "savings");
  auto unknown = client_->Recommend(request);
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(unknown.status().message(), HasSubstr("current_holdings.product_ids[9999]: unknown product id 'savings'"));
  ExpectStillServing();
}

}  // namespace
}  // namespace easymoney
