// The closed retraining loop over simulated months, end to end: the real
// recommender-retrain binary runs one step per month against a real server
// over loopback with mutual TLS and tokens (its Rescan audited under the
// pipeline's token), while a web client asks for recommendations and sends
// feedback through ReportFeedback. The months: the first version; a canary
// promoted on that feedback; a broken month, blocked; a month after a
// behaviour change, where the stable's realised quality falls below half its
// backtest and a candidate that beats it is rolled out; nothing new.
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "client/recommender_client.h"
#include "core/auth/access_tokens.h"
#include "core/training/datagen.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "server/recommender_server.h"
#include "tests/testing/feedback_about.h"
#include "tests/testing/loopback_server.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/test_model.h"
#include "tests/testing/tls_certificates.h"

namespace easymoney {
namespace {

namespace fs = std::filesystem;
namespace v1 = easymoney::recommender::v1;
using ::testing::HasSubstr;

constexpr char kWebToken[] = "web-backend-token-0123456789";
constexpr char kPipelineToken[] = "pipeline-token-9876543210";
// Segment 02 turns to savings products from this month on (datagen's
// --behaviour-change-from); the months before are unchanged.
constexpr char kBehaviourChange[] = "2018-07-28";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// What one run of recommender-retrain said: its exit status and its last
// stdout line, parsed.
struct RetrainRun {
  int exit_code = -1;
  std::string record;
  google::protobuf::Struct json;

  std::string action() const {
    auto it = json.fields().find("action");
    return it == json.fields().end() ? "" : it->second.string_value();
  }
  int64_t version() const {
    auto it = json.fields().find("version");
    return it == json.fields().end() ? -1 : static_cast<int64_t>(it->second.number_value());
  }
  // quality.<who>.map (who: stable, candidate, popularity); -1 if absent.
  double QualityMap(const std::string& who) const {
    auto quality = json.fields().find("quality");
    if (quality == json.fields().end()) return -1;
    auto entry = quality->second.struct_value().fields().find(who);
    if (entry == quality->second.struct_value().fields().end()) return -1;
    auto map = entry->second.struct_value().fields().find("map");
    return map == entry->second.struct_value().fields().end() ? -1 : map->second.number_value();
  }
};

// The value of the sample `series` (name and labels, as exposed) in a
// Prometheus text exposition; -1 if absent.
double SampleValue(const std::string& exposition, const std::string& series) {
  for (absl::string_view line : absl::StrSplit(exposition, '\n')) {
    if (!absl::StartsWith(line, series + " ")) continue;
    double value = 0;
    if (absl::SimpleAtod(line.substr(series.size() + 1), &value)) return value;
  }
  return -1;
}

class RetrainingLoopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("retraining_loop");
    auto pki = testing::MakeTestPki(dir_);
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = *std::move(pki);
    WriteSecret("tokens", *AccessTokenLine(kWebToken, "web", "recommend") + "\n" +
                              *AccessTokenLine(kPipelineToken, "pipeline", "admin") + "\n");
    WriteSecret("pipeline.token", std::string(kPipelineToken) + "\n");
    WriteSecret("feedback.keys", "k1 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n");
    fs::create_directories(dir_ + "/models");

    // A server with no version yet: it serves the first one the pipeline
    // publishes.
    RecommenderServer::Options options = testing::LoopbackServerOptions(dir_ + "/models", dir_ + "/audit.log");
    options.poll_interval = absl::Milliseconds(100);
    options.event_log_dir = dir_ + "/events";
    options.feedback_key_file = dir_ + "/feedback.keys";
    TlsSettings tls;
    tls.cert_file = pki_.server_cert;
    tls.key_file = pki_.server_key;
    tls.client_ca_file = pki_.ca_cert;
    options.tls = tls;
    options.auth_token_file = dir_ + "/tokens";
    auto server = RecommenderServer::Create(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);

    RecommenderClient::Options client_options;
    client_options.target = absl::StrCat("127.0.0.1:", server_->port());
    client_options.timeout = absl::Seconds(5);
    client_options.security.ca_file = pki_.ca_cert;
    client_options.security.cert_file = pki_.client_cert;
    client_options.security.key_file = pki_.client_key;
    client_options.security.token = kWebToken;
    auto web = RecommenderClient::Create(client_options);
    ASSERT_TRUE(web.ok()) << web.status();
    web_ = *std::move(web);
  }
  void TearDown() override {
    web_.reset();
    server_.reset();
    fs::remove_all(dir_);
  }

  void WriteSecret(const std::string& name, const std::string& text) {
    std::ofstream(dir_ + "/" + name) << text;
    ::chmod((dir_ + "/" + name).c_str(), 0600);
  }

  // The tables as the bank's export leaves them once `month` has arrived.
  void MonthArrives(const std::string& month, bool broken = false) {
    DatagenOptions data;
    data.num_customers = 10000;
    data.out_dir = dir_ + "/data";
    data.last_partition = month;
    if (month >= kBehaviourChange) data.behaviour_change_from = kBehaviourChange;
    if (broken) data.broken_partition = month;
    ASSERT_TRUE(GenerateEasyMoneyTables(data).ok());
  }

  // One step of the loop, as the CronJob runs it (small model settings; the
  // popularity gate is retraining_test's: 10,000 customers are too few for
  // the model to be sure to beat it).
  RetrainRun Retrain() {
    const std::string command = absl::StrCat(
        RETRAIN_BINARY, " --data ", dir_, "/data --model-base ", dir_, "/models --target 127.0.0.1:", server_->port(),
        " --tls-ca ", pki_.ca_cert, " --tls-cert ", pki_.client_cert, " --tls-key ", pki_.client_key,
        " --token-file ", dir_, "/pipeline.token --metrics-targets 127.0.0.1:", server_->metrics_port(),
        " --factors 4 --clusters 3 --backtest-months 1 --canary-percent 50 --min-impressions 100",
        " --max-loss-vs-popularity 1 2>>", dir_, "/retrain.err");
    const testing::CommandResult result = testing::RunCommand(command);
    RetrainRun run;
    run.exit_code = result.exit_code;
    std::vector<std::string> lines = absl::StrSplit(result.output, '\n', absl::SkipEmpty());
    if (!lines.empty()) run.record = lines.back();
    const auto parsed = google::protobuf::util::JsonStringToMessage(run.record, &run.json);
    EXPECT_TRUE(parsed.ok()) << run.record << "\n" << ReadFile(dir_ + "/retrain.err");
    return run;
  }

  // Whether the server serves `stable` with `canary` (0: none) within 10 s.
  bool Serves(int64_t stable, int64_t canary) {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (absl::Now() < deadline) {
      auto info = web_->GetModelInfo();
      if (info.ok() && info->models_size() == (canary == 0 ? 1 : 2) && info->models(0).version() == stable &&
          (canary == 0 || info->models(1).version() == canary)) {
        return true;
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
    return false;
  }

  // Page views with an impression for each answer and a click for one in
  // five of each variant's (both variants do equally well); returns the
  // canary's impressions.
  int Traffic(int page_views) {
    int impressions[2] = {0, 0};
    for (int i = 0; i < page_views; ++i) {
      v1::RecommendProductsRequest request;
      request.set_customer_id(absl::StrCat(1000 + i));
      auto answer = web_->Recommend(request);
      EXPECT_TRUE(answer.ok()) << answer.status();
      if (!answer.ok() || answer->products_size() == 0) continue;
      v1::ReportFeedbackRequest feedback =
          testing::FeedbackAbout(*answer, request.customer_id(), v1::FEEDBACK_EVENT_IMPRESSION);
      EXPECT_TRUE(web_->ReportFeedback(feedback).ok());
      if (++impressions[answer->variant() == v1::VARIANT_CANARY] % 5 == 0) {
        feedback.set_event(v1::FEEDBACK_EVENT_CLICK);
        EXPECT_TRUE(web_->ReportFeedback(feedback).ok());
      }
    }
    return impressions[1];
  }

  // /metrics once the realised-quality gauge of `version` is there (the
  // server reads the pipeline's file within seconds).
  std::string MetricsWithRealisedQuality(int64_t version) {
    const std::string series = absl::StrCat("recommender_model_realised_map{model_version=\"", version, "\"}");
    std::string metrics;
    for (int i = 0; i < 100; ++i) {
      metrics = testing::HttpGet(server_->metrics_port(), "/metrics");
      if (metrics.find(series) != std::string::npos) break;
      absl::SleepFor(absl::Milliseconds(100));
    }
    return metrics;
  }

  std::string dir_;
  testing::TestPki pki_;
  std::unique_ptr<RecommenderServer> server_;
  std::unique_ptr<RecommenderClient> web_;
};

TEST_F(RetrainingLoopTest, MonthsArrivePublishPromoteBlockAndRetrainAfterABehaviourChange) {
  // 1. The first month: published and served.
  MonthArrives("2018-05-28");
  RetrainRun run = Retrain();
  ASSERT_EQ(run.exit_code, 0) << run.record;
  ASSERT_EQ(run.action(), "published_first") << run.record;
  ASSERT_TRUE(Serves(1, 0));
  v1::RecommendProductsRequest request;
  request.set_customer_id("1000");
  auto answer = web_->Recommend(request);
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->model_version(), 1);

  // 2. The next month: a canary, promoted on the feedback it earns.
  MonthArrives("2018-06-28");
  run = Retrain();
  ASSERT_EQ(run.action(), "published_canary") << run.record;
  ASSERT_EQ(run.version(), 2);
  ASSERT_TRUE(Serves(1, 2)) << "the server did not follow the routing the pipeline wrote";
  run = Retrain();
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_EQ(run.action(), "waiting") << "no impressions yet: " << run.record;
  ASSERT_GE(Traffic(600), 100);
  run = Retrain();
  EXPECT_EQ(run.exit_code, 0);
  ASSERT_EQ(run.action(), "promoted") << run.record;
  ASSERT_TRUE(Serves(2, 0));

  // 3. A broken export: blocked with exit status 3, nothing published,
  // routing untouched, version 2 goes on serving.
  MonthArrives("2018-07-28", /*broken=*/true);
  const std::string routing_before = ReadFile(dir_ + "/models/routing.json");
  run = Retrain();
  EXPECT_EQ(run.exit_code, 3);
  ASSERT_EQ(run.action(), "blocked") << run.record;
  EXPECT_THAT(run.record, HasSubstr("empty_product_flags"));
  EXPECT_FALSE(fs::exists(dir_ + "/models/3"));
  EXPECT_EQ(ReadFile(dir_ + "/models/routing.json"), routing_before);
  EXPECT_TRUE(Serves(2, 0));

  // 4. The export is repaired and the next month arrives, after the
  // behaviour change: version 2, trained before it, ranks the new month's
  // acquisitions at less than half its backtest (the condition of
  // RecommenderRealisedQualityLow, whose promtool test is model_test.yml),
  // and the candidate trained on the changed month beats it and is rolled out.
  MonthArrives("2018-08-28");
  run = Retrain();
  EXPECT_EQ(run.exit_code, 0);
  ASSERT_EQ(run.action(), "published_canary") << run.record;
  ASSERT_EQ(run.version(), 3);
  EXPECT_GT(run.QualityMap("candidate"), run.QualityMap("stable")) << run.record;
  ASSERT_TRUE(Serves(2, 3));
  const std::string metrics = MetricsWithRealisedQuality(2);
  const double realised = SampleValue(metrics, "recommender_model_realised_map{model_version=\"2\"}");
  const double backtest = SampleValue(metrics, "recommender_model_backtest_map{model_version=\"2\"}");
  ASSERT_GT(realised, 0) << metrics;
  ASSERT_GT(backtest, 0) << metrics;
  EXPECT_LT(realised, 0.5 * backtest) << "realised " << realised << ", backtest " << backtest;
  std::printf("version 2: realised MAP@7 over acquirers %.3f, backtest %.3f\n", realised, backtest);
  ASSERT_GE(Traffic(600), 100);
  run = Retrain();
  ASSERT_EQ(run.action(), "promoted") << run.record;
  ASSERT_TRUE(Serves(3, 0));

  // 5. Nothing new: nothing changes.
  const std::string routing = ReadFile(dir_ + "/models/routing.json");
  const std::string quality = ReadFile(dir_ + "/models/realised_quality.json");
  run = Retrain();
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_EQ(run.action(), "nothing_new") << run.record;
  EXPECT_EQ(ReadFile(dir_ + "/models/routing.json"), routing);
  EXPECT_EQ(ReadFile(dir_ + "/models/realised_quality.json"), quality);
  EXPECT_FALSE(fs::exists(dir_ + "/models/4"));
  EXPECT_TRUE(Serves(3, 0));

  // Every run is on record, and the server's audit log shows the pipeline's
  // calls under its token's name.
  const std::string log = ReadFile(dir_ + "/models/retrain_log.jsonl");
  std::vector<std::string> actions;
  for (absl::string_view line : absl::StrSplit(log, '\n', absl::SkipEmpty())) {
    google::protobuf::Struct record;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(std::string(line), &record).ok()) << line;
    actions.push_back(record.fields().at("action").string_value());
  }
  EXPECT_THAT(actions, ::testing::ElementsAre("published_first", "published_canary", "waiting", "promoted", "blocked",
                                              "published_canary", "promoted", "nothing_new"));
  EXPECT_THAT(ReadFile(dir_ + "/audit.log"), HasSubstr(R"("who":"pipeline/recommender-retrain","action":"Rescan")"));
}

}  // namespace
}  // namespace easymoney
