// ReportFeedback over a real loopback gRPC channel, with the event log on
// disk and the metrics scraped over HTTP.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/recommender_client.h"
#include "core/serving/event_log.h"
#include "core/model/model_directory.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/recommender_server.h"
#include "tests/testing/feedback_about.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/loopback_server.h"
#include "tests/testing/test_model.h"

namespace easymoney {
namespace {

namespace fs = std::filesystem;
namespace v1 = easymoney::recommender::v1;
using ::testing::HasSubstr;
using ::testing::Not;

class FeedbackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("feedback");
    const testing::TestModel model = testing::MakeTestModel();
    ASSERT_TRUE(WriteModelVersion(dir_ + "/models", model.manifest, model.arrays).ok());
  }
  void TearDown() override {
    client_.reset();
    server_.reset();
    fs::remove_all(dir_);
  }

  void Start(bool with_event_log) {
    RecommenderServer::Options options = testing::LoopbackServerOptions(dir_ + "/models", dir_ + "/audit.log");
    if (with_event_log) options.event_log_dir = dir_ + "/events";
    auto server = RecommenderServer::Create(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    RecommenderClient::Options client_options;
    client_options.target = absl::StrCat("127.0.0.1:", server_->port());
    auto client = RecommenderClient::Create(client_options);
    ASSERT_TRUE(client.ok());
    client_ = *std::move(client);
  }

  v1::RecommendProductsResponse Recommend(const std::string& customer) {
    v1::RecommendProductsRequest request;
    request.set_customer_id(customer);
    auto response = client_->Recommend(request);
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? *response : v1::RecommendProductsResponse();
  }

  static v1::ReportFeedbackRequest Feedback(const v1::RecommendProductsResponse& answer, v1::FeedbackEvent event) {
    return testing::FeedbackAbout(answer, "10", event);
  }

  std::string dir_;
  std::unique_ptr<RecommenderServer> server_;
  std::unique_ptr<RecommenderClient> client_;
};

TEST_F(FeedbackTest, RecordsEventsDurablyCountsThemOnceAndExportsThem) {
  Start(true);
  const v1::RecommendProductsResponse answer = Recommend("10");
  ASSERT_GT(answer.products_size(), 0);
  for (v1::FeedbackEvent event :
       {v1::FEEDBACK_EVENT_IMPRESSION, v1::FEEDBACK_EVENT_CLICK, v1::FEEDBACK_EVENT_CONVERSION}) {
    auto result = client_->ReportFeedback(Feedback(answer, event));
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_FALSE(result->duplicate());
  }
  // A retried event is acknowledged and not counted again.
  auto again = client_->ReportFeedback(Feedback(answer, v1::FEEDBACK_EVENT_CLICK));
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->duplicate());

  // Acknowledged means on disk: read the log while the server still runs.
  int feedback = 0;
  int served = 0;
  auto read_log = [&] {
    feedback = 0;
    served = 0;
    return ReadEventLog(dir_ + "/events", [&](const easymoney::model::v1::EventRecord& record) {
    if (record.kind() == "feedback") {
      ++feedback;
      EXPECT_EQ(record.request_id(), answer.request_id());
      EXPECT_EQ(record.product_id(), answer.products(0).product_id());
      EXPECT_EQ(record.variant(), "stable");
    } else if (record.kind() == "served") {
      ++served;
      EXPECT_EQ(record.request_id(), answer.request_id());
      EXPECT_EQ(record.customer_id(), "10");
      EXPECT_EQ(record.model_version(), answer.model_version());
      EXPECT_EQ(record.strategy(), "personalised");
      ASSERT_EQ(record.products_size(), answer.products_size());
      for (int i = 0; i < answer.products_size(); ++i) {
        EXPECT_EQ(record.products(i), answer.products(i).product_id());
      }
    }
    });
  };
  auto stats = read_log();
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(feedback, 3);
  // Served answers are appended after the response is sent, without waiting
  // for the disk: give the group commit a moment.
  for (int i = 0; i < 200 && served == 0; ++i) {
    absl::SleepFor(absl::Milliseconds(10));
    ASSERT_TRUE(read_log().ok());
  }
  EXPECT_EQ(served, 1);

  const std::string metrics = testing::HttpGet(server_->metrics_port(), "/metrics");
  const std::string version = absl::StrCat("model_version=\"", answer.model_version(), "\"");
  EXPECT_THAT(metrics, HasSubstr(absl::StrCat("recommender_feedback_events_total{event=\"click\",", version,
                                              ",variant=\"stable\"} 1")));
  EXPECT_THAT(metrics, HasSubstr(absl::StrCat("recommender_feedback_product_events_total{event=\"conversion\","
                                              "product=\"",
                                              answer.products(0).product_id(), "\"} 1")));
  EXPECT_THAT(metrics, HasSubstr("recommender_event_log_appends_total{kind=\"feedback\"} 3"));
}

TEST_F(FeedbackTest, MalformedFeedbackIsInvalidArgumentNamingTheField) {
  Start(true);
  const v1::RecommendProductsResponse answer = Recommend("10");
  struct Case {
    std::function<void(v1::ReportFeedbackRequest&)> edit;
    const char* message;
  };
  const Case cases[] = {
      {[](auto& r) { r.set_event(v1::FEEDBACK_EVENT_UNSPECIFIED); }, "event 0"},
      {[](auto& r) { r.set_event(static_cast<v1::FeedbackEvent>(42)); }, "event 42"},
      {[](auto& r) { r.set_variant(v1::VARIANT_UNSPECIFIED); }, "variant 0"},
      {[](auto& r) { r.set_model_version(99); }, "model_version 99"},
      {[](auto& r) { r.set_product_id("no_such_product"); }, "product_id 'no_such_product'"},
      {[](auto& r) { r.clear_request_id(); }, "request_id is empty"},
      {[](auto& r) { r.clear_customer_id(); }, "customer_id is empty"},
      {[](auto& r) { r.set_event_time_unix_ms(-1); }, "event_time_unix_ms"},
  };
  for (const Case& c : cases) {
    v1::ReportFeedbackRequest request = Feedback(answer, v1::FEEDBACK_EVENT_CLICK);
    c.edit(request);
    auto result = client_->ReportFeedback(request);
    ASSERT_FALSE(result.ok()) << c.message;
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument) << c.message;
    EXPECT_THAT(std::string(result.status().message()), HasSubstr(c.message));
  }
}

TEST_F(FeedbackTest, WithoutAnEventLogFeedbackIsRefused) {
  Start(false);
  const v1::RecommendProductsResponse answer = Recommend("10");
  auto result = client_->ReportFeedback(Feedback(answer, v1::FEEDBACK_EVENT_CLICK));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition);
}


// The served cluster mix is compared with the training mix: the test model
// has customer 10 in cluster 0 and customers 20 and 30 in cluster 1, so
// asking only for customer 10 drifts far from the training shares (1/3, 2/3).
TEST_F(FeedbackTest, ServedClusterMixDriftIsExportedAsPsi) {
  Start(false);
  for (int i = 0; i < 1200; ++i) Recommend("10");
  const double expected = (1.0 - 1.0 / 3) * std::log(1.0 / (1.0 / 3)) + (1e-4 - 2.0 / 3) * std::log(1e-4 / (2.0 / 3));
  const std::string series = "recommender_cluster_psi{model_version=\"1\",variant=\"stable\"} ";
  double psi = std::nan("");
  for (int i = 0; i < 60 && std::isnan(psi); ++i) {
    absl::SleepFor(absl::Milliseconds(100));
    const std::string metrics = testing::HttpGet(server_->metrics_port(), "/metrics");
    const size_t at = metrics.find(series);
    if (at != std::string::npos) psi = std::strtod(metrics.c_str() + at + series.size(), nullptr);
  }
  EXPECT_NEAR(psi, expected, 1e-3);
  EXPECT_GT(psi, 0.2);  // The alert threshold.
}

// Feedback that is not about an answer this service gave, as any caller
// with a recommend token could send it to sway the KPIs or a canary's
// analysis: refused, counted by reason, and absent from the KPIs and the log.
TEST_F(FeedbackTest, FeedbackNotAboutAnAnswerGivenIsRefusedAndKeptOutOfTheKpis) {
  Start(true);
  const v1::RecommendProductsResponse answer = Recommend("10");
  ASSERT_GT(answer.products_size(), 0);
  const v1::ReportFeedbackRequest good = Feedback(answer, v1::FEEDBACK_EVENT_CLICK);
  std::vector<std::pair<std::string, v1::ReportFeedbackRequest>> forged;
  forged.emplace_back("never served", good);
  forged.back().second.set_request_id("0123456789abcde");
  forged.emplace_back("another customer", good);
  forged.back().second.set_customer_id("20");
  forged.emplace_back("canary, when stable answered", good);
  forged.back().second.set_variant(v1::VARIANT_CANARY);
  forged.emplace_back("the year 2500", good);
  forged.back().second.set_event_time_unix_ms(
      absl::ToUnixMillis(absl::FromCivil(absl::CivilSecond(2500, 1, 1), absl::UTCTimeZone())));
  auto info = client_->GetModelInfo();
  ASSERT_TRUE(info.ok());
  ASSERT_GT(info->models_size(), 0);
  for (const auto& product : info->models(0).products()) {
    bool answered = false;
    for (const auto& given : answer.products()) answered |= given.product_id() == product.product_id();
    if (answered) continue;
    forged.emplace_back("a product not in the answer", good);
    forged.back().second.set_product_id(product.product_id());
    break;
  }
  for (const auto& [what, request] : forged) {
    auto result = client_->ReportFeedback(request);
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument) << what;
  }
  const std::string metrics = testing::HttpGet(server_->metrics_port(), "/metrics");
  for (const char* variant : {"stable", "canary"}) {
    EXPECT_THAT(metrics, Not(HasSubstr(absl::StrCat("recommender_feedback_events_total{event=\"click\",model_version=\"",
                                                    answer.model_version(), "\",variant=\"", variant, "\"} 1"))));
  }
  EXPECT_THAT(metrics, HasSubstr(absl::StrCat("recommender_feedback_events_total{event=\"click\",model_version=\"",
                                              answer.model_version(), "\",variant=\"stable\"} 0")));
  EXPECT_THAT(metrics, HasSubstr("recommender_event_log_appends_total{kind=\"feedback\"} 0"));
  // The refusal counters are exported once a second.
  std::string refused;
  for (int i = 0; i < 40; ++i) {
    refused = testing::HttpGet(server_->metrics_port(), "/metrics");
    if (refused.find("recommender_feedback_refused_total{reason=\"not_issued\"} 2") != std::string::npos) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_THAT(refused, HasSubstr("recommender_feedback_refused_total{reason=\"not_issued\"} 2"));
  EXPECT_THAT(refused, HasSubstr("recommender_feedback_refused_total{reason=\"outside_window\"} 1"));
  EXPECT_THAT(refused, HasSubstr(absl::StrCat("recommender_feedback_refused_total{reason=\"not_in_answer\"} ",
                                              forged.size() - 3)));
  EXPECT_TRUE(client_->ReportFeedback(good).ok()) << "the genuine event";
}

// Two replicas with the same key file take each other's answers; one with
// another key does not. No state is shared but the file.
TEST_F(FeedbackTest, ReplicasSharingTheKeyFileAcceptFeedbackAboutEachOthersAnswers) {
  const std::string keys = dir_ + "/feedback.keys";
  const auto write_keys = [&](const std::string& path, const std::string& text) {
    std::FILE* file = std::fopen(path.c_str(), "w");
    ASSERT_NE(file, nullptr);
    std::fputs(text.c_str(), file);
    std::fclose(file);
  };
  write_keys(keys, "k1 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n");
  write_keys(dir_ + "/other.keys", "k1 ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100\n");
  std::vector<std::unique_ptr<RecommenderServer>> replicas;
  std::vector<std::unique_ptr<RecommenderClient>> clients;
  for (const std::string& key_file : {keys, keys, dir_ + "/other.keys"}) {
    RecommenderServer::Options options = testing::LoopbackServerOptions(dir_ + "/models", dir_ + "/audit.log");
    options.event_log_dir = absl::StrCat(dir_, "/events", replicas.size());
    options.feedback_key_file = key_file;
    auto server = RecommenderServer::Create(options);
    ASSERT_TRUE(server.ok()) << server.status();
    RecommenderClient::Options client_options;
    client_options.target = absl::StrCat("127.0.0.1:", (*server)->port());
    auto client = RecommenderClient::Create(client_options);
    ASSERT_TRUE(client.ok());
    replicas.push_back(*std::move(server));
    clients.push_back(*std::move(client));
  }
  v1::RecommendProductsRequest request;
  request.set_customer_id("10");
  auto answer = clients[0]->Recommend(request);
  ASSERT_TRUE(answer.ok());
  EXPECT_TRUE(clients[1]->ReportFeedback(Feedback(*answer, v1::FEEDBACK_EVENT_CLICK)).ok());
  EXPECT_EQ(clients[2]->ReportFeedback(Feedback(*answer, v1::FEEDBACK_EVENT_CLICK)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace easymoney
