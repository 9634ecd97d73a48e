// The Connect port (--http-port) over real loopback HTTP/1.1: the same
// answers as gRPC for the same customer, JSON and binary protobuf, Connect's
// error shape and status codes, bad input answered with a clear 4xx while
// the server goes on serving, bounds on bodies and idle connections, TLS
// with tokens, and the protocol label on /metrics.
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "client/recommender_client.h"
#include "core/auth/access_tokens.h"
#include "core/model/model_directory.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/connect_protocol.h"
#include "server/recommender_server.h"
#include "tests/testing/loopback_server.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/test_model.h"
#include "tests/testing/tls_certificates.h"

namespace easymoney {
namespace {

namespace fs = std::filesystem;
namespace v1 = easymoney::recommender::v1;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kRecommend[] = "/easymoney.recommender.v1.Recommender/RecommendProducts";
constexpr char kFeedback[] = "/easymoney.recommender.v1.Recommender/ReportFeedback";
constexpr char kModelInfo[] = "/easymoney.recommender.v1.Recommender/GetModelInfo";
constexpr char kBatch[] = "/easymoney.recommender.v1.Recommender/RecommendProductsBatch";

// Parses a JSON answer body into `message`; fails the test if it does not.
template <typename Message>
Message FromJson(const std::string& json) {
  Message message;
  const auto parsed = google::protobuf::util::JsonStringToMessage(json, &message);
  EXPECT_TRUE(parsed.ok()) << json;
  return message;
}

// The hand-made test model (customers 10, 20, 30) served with a Connect
// port beside gRPC, with an event log for feedback.
class ConnectHttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("connect");
    const testing::TestModel model = testing::MakeTestModel();
    ASSERT_TRUE(WriteModelVersion(dir_ + "/models", model.manifest, model.arrays).ok());
  }
  void TearDown() override {
    client_.reset();
    server_.reset();
    fs::remove_all(dir_);
  }

  void StartServer(RecommenderServer::Options options) {
    options.event_log_dir = dir_ + "/events";
    options.http_address = "127.0.0.1:0";
    auto server = RecommenderServer::Create(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    ASSERT_GT(server_->http_port(), 0);
  }
  void StartPlaintext() {
    StartServer(testing::LoopbackServerOptions(dir_ + "/models", dir_ + "/audit.log"));
    RecommenderClient::Options client_options;
    client_options.target = absl::StrCat("127.0.0.1:", server_->port());
    auto client = RecommenderClient::Create(client_options);
    ASSERT_TRUE(client.ok());
    client_ = *std::move(client);
  }

  testing::HttpReply Post(const std::string& path, const std::string& json, const std::string& headers = "") {
    return testing::HttpExchange(server_->http_port(), testing::HttpPost(path, "application/json", json, headers));
  }

  // A Connect error reply: the HTTP status and the {"code", "message"} body.
  static void ExpectConnectError(const testing::HttpReply& reply, int http_status, const std::string& code,
                                 const std::string& message_part) {
    EXPECT_EQ(reply.status, http_status) << reply.headers << "\n" << reply.body;
    EXPECT_THAT(reply.headers, HasSubstr("Content-Type: application/json"));
    EXPECT_THAT(reply.body, HasSubstr(absl::StrCat("\"code\":\"", code, "\"")));
    EXPECT_THAT(reply.body, HasSubstr(message_part));
  }

  void ExpectStillServing() {
    const testing::HttpReply reply = Post(kRecommend, R"({"customerId": "10"})");
    ASSERT_EQ(reply.status, 200) << reply.body;
    EXPECT_EQ(FromJson<v1::RecommendProductsResponse>(reply.body).products_size(), 3);
  }

  std::string dir_;
  std::unique_ptr<RecommenderServer> server_;
  std::unique_ptr<RecommenderClient> client_;
};

TEST_F(ConnectHttpTest, JsonAndProtobufAnswerAsGrpcDoes) {
  StartPlaintext();
  for (const std::string customer : {"10", "20", "999"}) {
    SCOPED_TRACE(customer);
    v1::RecommendProductsRequest request;
    request.set_customer_id(customer);
    request.set_num_results(2);
    auto grpc_answer = client_->Recommend(request);
    ASSERT_TRUE(grpc_answer.ok()) << grpc_answer.status();

    const testing::HttpReply json = Post(kRecommend, absl::StrCat(R"({"customerId": ")", customer, R"(", "numResults": 2})"));
    ASSERT_EQ(json.status, 200) << json.body;
    EXPECT_THAT(json.headers, HasSubstr("Content-Type: application/json"));
    v1::RecommendProductsResponse json_answer = FromJson<v1::RecommendProductsResponse>(json.body);

    const testing::HttpReply binary = testing::HttpExchange(
        server_->http_port(), testing::HttpPost(kRecommend, "application/proto", request.SerializeAsString()));
    ASSERT_EQ(binary.status, 200) << binary.body;
    EXPECT_THAT(binary.headers, HasSubstr("Content-Type: application/proto"));
    v1::RecommendProductsResponse binary_answer;
    ASSERT_TRUE(binary_answer.ParseFromString(binary.body));

    // Every field alike but the request id, which each answer signs anew.
    for (v1::RecommendProductsResponse* answer : {&*grpc_answer, &json_answer, &binary_answer}) {
      EXPECT_FALSE(answer->request_id().empty());
      answer->clear_request_id();
    }
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*grpc_answer, json_answer))
        << grpc_answer->DebugString() << "\nvs\n" << json_answer.DebugString();
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*grpc_answer, binary_answer));
  }
  // The batch and the model information too.
  const testing::HttpReply batch = Post(kBatch, R"({"requests": [{"customerId": "10"}, {"customerId": "x"}]})");
  ASSERT_EQ(batch.status, 200) << batch.body;
  const auto batch_answer = FromJson<v1::RecommendProductsBatchResponse>(batch.body);
  ASSERT_EQ(batch_answer.results_size(), 2);
  EXPECT_EQ(batch_answer.results(0).response().products_size(), 3);
  EXPECT_EQ(batch_answer.results(1).code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  const testing::HttpReply info = Post(kModelInfo, "{}");
  ASSERT_EQ(info.status, 200) << info.body;
  EXPECT_EQ(FromJson<v1::GetModelInfoResponse>(info.body).models(0).version(), 1);
}

TEST_F(ConnectHttpTest, FeedbackAboutAnAnswerIsRecordedOnceAndForgedFeedbackRefused) {
  StartPlaintext();
  const testing::HttpReply answer = Post(kRecommend, R"({"customerId": "10"})");
  ASSERT_EQ(answer.status, 200) << answer.body;
  const auto recommended = FromJson<v1::RecommendProductsResponse>(answer.body);
  const std::string feedback =
      absl::StrCat(R"({"requestId": ")", recommended.request_id(), R"(", "modelVersion": ")",
                   recommended.model_version(), R"(", "variant": "VARIANT_STABLE", "customerId": "10", "productId": ")",
                   recommended.products(0).product_id(), R"(", "event": "FEEDBACK_EVENT_CLICK"})");
  const testing::HttpReply first = Post(kFeedback, feedback);
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_FALSE(FromJson<v1::ReportFeedbackResponse>(first.body).duplicate());
  const testing::HttpReply again = Post(kFeedback, feedback);
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_TRUE(FromJson<v1::ReportFeedbackResponse>(again.body).duplicate());

  std::string forged = feedback;
  forged.replace(forged.find(recommended.request_id()), recommended.request_id().size(), "0123456789abcdef");
  ExpectConnectError(Post(kFeedback, forged), 400, "invalid_argument", "request_id");
  ExpectConnectError(Post(kFeedback, R"({"requestId": "x", "event": 42, "variant": "VARIANT_STABLE"})"), 400,
                     "invalid_argument", "event 42");
}

TEST_F(ConnectHttpTest, BadInputGetsAClearErrorAndTheServerGoesOnServing) {
  StartPlaintext();
  // A bad id: the same INVALID_ARGUMENT as over gRPC, as Connect's 400.
  ExpectConnectError(Post(kRecommend, R"({"customerId": "not-a-number"})"), 400, "invalid_argument",
                     "customer_id must be a positive decimal number");
  // Malformed JSON and a wrongly typed field.
  ExpectConnectError(Post(kRecommend, R"({"customerId": "10")"), 400, "invalid_argument", "does not parse");
  ExpectConnectError(Post(kRecommend, R"({"customerId": {"a": 1}})"), 400, "invalid_argument", "does not parse");
  ExpectConnectError(Post(kRecommend, R"({"numResults": "many", "customerId": "10"})"), 400, "invalid_argument",
                     "does not parse");
  // Unknown fields are ignored, as Connect's codecs do (a newer client may
  // send fields this server does not know).
  const testing::HttpReply unknown = Post(kRecommend, R"({"customerId": "10", "fromTheFuture": [1, 2]})");
  EXPECT_EQ(unknown.status, 200) << unknown.body;
  // Binary protobuf that does not parse.
  ExpectConnectError(testing::HttpExchange(server_->http_port(),
                                           testing::HttpPost(kRecommend, "application/proto", "\x0a\xff\xff")),
                     400, "invalid_argument", "not a binary");
  // A wrong content type, an unknown path, a GET.
  const testing::HttpReply text = testing::HttpExchange(
      server_->http_port(), testing::HttpPost(kRecommend, "text/plain", R"({"customerId": "10"})"));
  EXPECT_EQ(text.status, 415);
  EXPECT_THAT(text.headers, HasSubstr("Accept-Post: application/json, application/proto"));
  ExpectConnectError(Post("/easymoney.recommender.v1.Recommender/Nope", "{}"), 404, "not_found", "no call at");
  ExpectConnectError(Post("/", "{}"), 404, "not_found", "RecommendProducts");
  const testing::HttpReply get = testing::HttpExchange(
      server_->http_port(), absl::StrCat("GET ", kRecommend, " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  EXPECT_EQ(get.status, 405);
  EXPECT_THAT(get.headers, HasSubstr("Allow: POST"));
  // Connect's headers, wrong.
  ExpectConnectError(Post(kRecommend, R"({"customerId": "10"})", "Connect-Timeout-Ms: soon\r\n"), 400,
                     "invalid_argument", "Connect-Timeout-Ms");
  ExpectConnectError(Post(kRecommend, R"({"customerId": "10"})", "Content-Encoding: gzip\r\n"), 501,
                     "unimplemented", "gzip");
  ExpectConnectError(Post(kRecommend, R"({"customerId": "10"})", "Connect-Protocol-Version: 2\r\n"), 400,
                     "invalid_argument", "Connect-Protocol-Version");
  // A deadline that leaves no time: Connect's deadline_exceeded.
  const testing::HttpReply late = Post(kRecommend, R"({"customerId": "10"})", "Connect-Timeout-Ms: 0\r\n");
  ExpectConnectError(late, 504, "deadline_exceeded", "deadline");
  ExpectStillServing();
}

TEST_F(ConnectHttpTest, BodiesOverTheLimitAreRefusedWithoutReadingThem) {
  StartPlaintext();
  // Announced: answered from the headers alone.
  const testing::HttpReply announced = testing::HttpExchange(
      server_->http_port(), absl::StrCat("POST ", kRecommend, " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n",
                                         "Content-Type: application/json\r\nContent-Length: 1000000000\r\n\r\n{"));
  ExpectConnectError(announced, 429, "resource_exhausted", "over 4194304 bytes");
  // Sent in chunks without a length: answered once it passes the bound.
  std::string chunked = absl::StrCat("POST ", kRecommend, " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n",
                                     "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
  const std::string chunk(1 << 20, ' ');
  for (int i = 0; i < 5; ++i) absl::StrAppend(&chunked, "100000\r\n", chunk, "\r\n");
  absl::StrAppend(&chunked, "0\r\n\r\n");
  ExpectConnectError(testing::HttpExchange(server_->http_port(), chunked), 429, "resource_exhausted", "over");
  // Headers beyond the bound: refused (431) or the connection closed.
  const testing::HttpReply huge_headers = testing::HttpExchange(
      server_->http_port(), absl::StrCat("POST ", kRecommend, " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n",
                                         "X-Padding: ", std::string(64 << 10, 'a'), "\r\n\r\n"));
  EXPECT_NE(huge_headers.status, 200);
  ExpectStillServing();
}

TEST_F(ConnectHttpTest, IdleAndHalfSentConnectionsDoNotStarveThePort) {
  StartPlaintext();
  // Far more silent connections, and connections stalled mid-request, than
  // the port has threads: each costs a descriptor, not a thread.
  std::vector<int> idle;
  for (int i = 0; i < 100; ++i) {
    const int fd = testing::ConnectLoopback(server_->http_port());
    ASSERT_GE(fd, 0);
    if (i % 2 == 1) {
      const std::string partial = absl::StrCat("POST ", kRecommend, " HTTP/1.1\r\nHost: x\r\nContent-Le");
      ASSERT_EQ(write(fd, partial.data(), partial.size()), static_cast<ssize_t>(partial.size()));
    }
    idle.push_back(fd);
  }
  for (int i = 0; i < 20; ++i) ExpectStillServing();
  for (int fd : idle) close(fd);
}

TEST_F(ConnectHttpTest, CallsAreCountedUnderTheConnectProtocol) {
  StartPlaintext();
  ExpectStillServing();
  ExpectConnectError(Post(kRecommend, R"({"customerId": "x"})"), 400, "invalid_argument", "customer_id");
  v1::RecommendProductsRequest request;
  request.set_customer_id("10");
  ASSERT_TRUE(client_->Recommend(request).ok());
  const std::string metrics = testing::HttpGet(server_->metrics_port(), "/metrics");
  EXPECT_THAT(metrics, HasSubstr(R"(recommender_requests_total{code="OK",method="RecommendProducts",model_version="1",protocol="connect",variant="stable"} 1)"));
  EXPECT_THAT(metrics, HasSubstr(R"(recommender_requests_total{code="INVALID_ARGUMENT",method="RecommendProducts",model_version="1",protocol="connect",variant="stable"} 1)"));
  EXPECT_THAT(metrics, HasSubstr(R"(recommender_requests_total{code="OK",method="RecommendProducts",model_version="1",protocol="grpc",variant="stable"} 1)"));
}

TEST_F(ConnectHttpTest, ShutdownWhileFeedbackIsInFlightAnswersOrRefusesEachCallCleanly) {
  StartPlaintext();
  // Feedback waits for the event log's fsync, suspended meanwhile: the
  // listener must never be stopped with one still suspended (libmicrohttpd
  // aborts the process then). Each call is about a new answer, so each is
  // recorded (not a duplicate answered at once).
  const int port = server_->http_port();
  std::atomic<bool> stop{false};
  std::atomic<int> answered{0}, refused{0}, other{0};
  absl::Mutex mu;
  std::string others;
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&] {
      while (!stop.load()) {
        const testing::HttpReply answer = testing::HttpExchange(
            port, testing::HttpPost(kRecommend, "application/json", R"({"customerId": "10"})"));
        testing::HttpReply reply = answer;
        if (answer.status == 200) {
          v1::RecommendProductsResponse recommended;
          if (!google::protobuf::util::JsonStringToMessage(answer.body, &recommended).ok()) {
            reply.status = -1;
          } else {
            const std::string feedback = absl::StrCat(
                R"({"requestId": ")", recommended.request_id(), R"(", "modelVersion": "1", )",
                R"("variant": "VARIANT_STABLE", "customerId": "10", "productId": ")",
                recommended.products(0).product_id(), R"(", "event": "FEEDBACK_EVENT_IMPRESSION"})");
            reply = testing::HttpExchange(port, testing::HttpPost(kFeedback, "application/json", feedback));
          }
        }
        if (reply.status == 200) {
          ++answered;
        } else if (reply.status == 503 || reply.status == 0) {
          ++refused;  // Stopping, or the port already closed.
        } else {
          ++other;
          absl::MutexLock lock(&mu);
          absl::StrAppend(&others, reply.status, " ", reply.body.substr(0, 200), "\n");
        }
      }
    });
  }
  absl::SleepFor(absl::Milliseconds(300));
  server_->Shutdown(absl::Milliseconds(200));
  absl::SleepFor(absl::Milliseconds(100));
  stop.store(true);
  for (std::thread& client : clients) client.join();
  server_.reset();
  EXPECT_GT(answered.load(), 0);
  EXPECT_EQ(other.load(), 0) << others;
}

TEST(ConnectProtocol, CodesMapToConnectsHttpStatusesAndNames) {
  EXPECT_EQ(ConnectHttpStatus(grpc::StatusCode::INVALID_ARGUMENT), 400);
  EXPECT_EQ(ConnectHttpStatus(grpc::StatusCode::UNAUTHENTICATED), 401);
  EXPECT_EQ(ConnectHttpStatus(grpc::StatusCode::PERMISSION_DENIED), 403);
  EXPECT_EQ(ConnectHttpStatus(grpc::StatusCode::NOT_FOUND), 404);
  EXPECT_EQ(ConnectHttpStatus(grpc::StatusCode::RESOURCE_EXHAUSTED), 429);
  EXPECT_EQ(ConnectHttpStatus(grpc::StatusCode::UNAVAILABLE), 503);
  EXPECT_EQ(ConnectHttpStatus(grpc::StatusCode::DEADLINE_EXCEEDED), 504);
  EXPECT_EQ(ConnectHttpStatus(grpc::StatusCode::FAILED_PRECONDITION), 400);
  EXPECT_EQ(ConnectHttpStatus(grpc::StatusCode::INTERNAL), 500);
  EXPECT_EQ(ConnectCodeName(grpc::StatusCode::CANCELLED), "canceled");
  EXPECT_EQ(ConnectCodeName(grpc::StatusCode::RESOURCE_EXHAUSTED), "resource_exhausted");
  EXPECT_EQ(ConnectErrorBody(grpc::Status(grpc::StatusCode::NOT_FOUND, "say \"no\"\n")),
            R"({"code":"not_found","message":"say \"no\"\n"})");
  EXPECT_EQ(ConnectCodecOf("application/json; charset=utf-8"), ConnectCodec::kJson);
  EXPECT_EQ(ConnectCodecOf("Application/Proto"), ConnectCodec::kProto);
  EXPECT_EQ(ConnectCodecOf("application/grpc"), std::nullopt);
  EXPECT_EQ(*ParseConnectTimeout("1500"), absl::Milliseconds(1500));
  EXPECT_FALSE(ParseConnectTimeout("12345678901").ok());
  EXPECT_FALSE(ParseConnectTimeout("-1").ok());
}

// TLS and tokens on the Connect port are the gRPC port's, checked with curl
// (a client this project did not write).
class ConnectTlsTest : public ConnectHttpTest {};

TEST_F(ConnectTlsTest, TlsAndBearerTokensAreTheGrpcPorts) {
  fs::create_directories(dir_ + "/pki");
  auto pki = testing::MakeTestPki(dir_ + "/pki");
  ASSERT_TRUE(pki.ok()) << pki.status();
  const std::string tokens = dir_ + "/tokens";
  std::ofstream(tokens) << *AccessTokenLine("web-backend-token-0123456789", "web", "recommend") << "\n";
  ::chmod(tokens.c_str(), 0600);
  RecommenderServer::Options options = testing::LoopbackServerOptions(dir_ + "/models", dir_ + "/audit.log");
  TlsSettings tls;
  tls.cert_file = pki->server_cert;
  tls.key_file = pki->server_key;
  tls.refresh_interval = absl::Seconds(1);
  options.tls = tls;
  options.auth_token_file = tokens;
  StartServer(options);
  const std::string curl = absl::StrCat(
      "curl -sS --max-time 10 --cacert ", pki->ca_cert, " -H 'Content-Type: application/json' -w ' HTTP %{http_code}' ",
      "-d '{\"customerId\": \"10\"}' https://localhost:", server_->http_port(), kRecommend);
  const testing::CommandResult with_token =
      testing::RunCommand(curl + " -H 'Authorization: Bearer web-backend-token-0123456789'");
  EXPECT_EQ(with_token.exit_code, 0) << with_token.output;
  EXPECT_THAT(with_token.output, HasSubstr("\"products\""));
  EXPECT_THAT(with_token.output, HasSubstr("HTTP 200"));
  const testing::CommandResult without = testing::RunCommand(curl);
  EXPECT_THAT(without.output, HasSubstr("\"code\":\"unauthenticated\""));
  EXPECT_THAT(without.output, HasSubstr("HTTP 401"));
  const testing::CommandResult wrong = testing::RunCommand(curl + " -H 'Authorization: Bearer nope'");
  EXPECT_THAT(wrong.output, HasSubstr("HTTP 401"));
  EXPECT_THAT(wrong.output, Not(HasSubstr("nope")));
  // Plaintext to the TLS port gets no answer.
  const testing::HttpReply plaintext =
      testing::HttpExchange(server_->http_port(), testing::HttpPost(kRecommend, "application/json", "{}"));
  EXPECT_EQ(plaintext.status, 0);

  // A rotated certificate (another CA's) is taken without a restart.
  fs::create_directories(dir_ + "/pki2");
  auto renewed = testing::MakeTestPki(dir_ + "/pki2");
  ASSERT_TRUE(renewed.ok()) << renewed.status();
  for (const auto& [from, to] : {std::pair{renewed->server_cert, pki->server_cert},
                                 std::pair{renewed->server_key, pki->server_key}}) {
    fs::copy_file(from, to + ".new", fs::copy_options::overwrite_existing);
    fs::rename(to + ".new", to);
  }
  const std::string renewed_curl = absl::StrCat(
      "curl -sS --max-time 5 --cacert ", renewed->ca_cert, " -H 'Content-Type: application/json' -w ' HTTP %{http_code}' ",
      "-H 'Authorization: Bearer web-backend-token-0123456789' -d '{\"customerId\": \"10\"}' https://localhost:",
      server_->http_port(), kRecommend);
  testing::CommandResult after_rotation;
  for (int i = 0; i < 100; ++i) {
    after_rotation = testing::RunCommand(renewed_curl);
    if (after_rotation.output.find("HTTP 200") != std::string::npos) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_THAT(after_rotation.output, HasSubstr("HTTP 200"));
}

}  // namespace
}  // namespace easymoney
