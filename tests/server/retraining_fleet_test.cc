// The retraining loop against a fleet: three real servers over loopback
// share one model base (the shared store). The pipeline step publishes a
// canary there, every replica follows, feedback reaches whichever replica,
// the decision sums all three replicas' /metrics, and the promotion reaches
// all three. A replica that only mirrors the store refuses routing changes.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/fleet_counters.h"
#include "client/recommender_client.h"
#include "core/training/datagen.h"
#include "core/training/retraining.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/recommender_server.h"
#include "tests/testing/feedback_about.h"
#include "tests/testing/loopback_server.h"
#include "tests/testing/subprocess.h"

namespace easymoney {
namespace {

namespace v1 = easymoney::recommender::v1;
using ::testing::HasSubstr;

class RetrainingFleetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = absl::StrCat(::testing::TempDir(), "/retraining_fleet_", ::getpid());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    options_.data_dir = dir_ + "/data";
    options_.model_base = dir_ + "/models";
    options_.trainer.num_factors = 4;
    options_.trainer.num_clusters = 3;
    options_.trainer.backtest_months = 1;
    options_.canary_percent = 50;
    options_.promotion.min_impressions = 100;
    // The gate against popularity is the core test's; 2,000 customers are
    // too few for the model to be sure to beat it.
    options_.max_loss_vs_popularity = 1;
    std::FILE* keys = std::fopen((dir_ + "/feedback.keys").c_str(), "w");
    ASSERT_NE(keys, nullptr);
    std::fputs("k1 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n", keys);
    std::fclose(keys);
  }
  void TearDown() override {
    clients_.clear();
    replicas_.clear();
    std::filesystem::remove_all(dir_);
  }

  void MonthArrives(const std::string& month) {
    DatagenOptions data;
    data.num_customers = 2000;
    data.out_dir = options_.data_dir;
    data.last_partition = month;
    ASSERT_TRUE(GenerateEasyMoneyTables(data).ok());
  }

  void StartReplicas(int count) {
    for (int i = 0; i < count; ++i) {
      RecommenderServer::Options options =
          testing::LoopbackServerOptions(options_.model_base, absl::StrCat(dir_, "/audit", i, ".log"));
      options.poll_interval = absl::Milliseconds(100);
      options.event_log_dir = absl::StrCat(dir_, "/events", i);
      options.feedback_key_file = dir_ + "/feedback.keys";
      auto server = RecommenderServer::Create(options);
      ASSERT_TRUE(server.ok()) << server.status();
      RecommenderClient::Options client_options;
      client_options.target = absl::StrCat("127.0.0.1:", (*server)->port());
      auto client = RecommenderClient::Create(client_options);
      ASSERT_TRUE(client.ok());
      metrics_targets_.push_back(absl::StrCat("127.0.0.1:", (*server)->metrics_port()));
      replicas_.push_back(*std::move(server));
      clients_.push_back(*std::move(client));
    }
  }

  absl::StatusOr<RetrainResult> Step() {
    return RunRetrainStep(options_, [this](int64_t stable, int64_t canary) {
      return ScrapeFleetCounters(metrics_targets_, stable, canary);
    });
  }

  // Whether every replica serves `stable` with `canary` (0: none) within 10 s.
  bool AllFollow(int64_t stable, int64_t canary) {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (absl::Now() < deadline) {
      bool all = true;
      for (const auto& client : clients_) {
        auto info = client->GetModelInfo();
        all = all && info.ok() && info->models_size() == (canary == 0 ? 1 : 2) &&
              info->models(0).version() == stable && (canary == 0 || info->models(1).version() == canary);
      }
      if (all) return true;
      absl::SleepFor(absl::Milliseconds(50));
    }
    return false;
  }

  std::string dir_;
  RetrainOptions options_;
  std::vector<std::unique_ptr<RecommenderServer>> replicas_;
  std::vector<std::unique_ptr<RecommenderClient>> clients_;
  std::vector<std::string> metrics_targets_;
};

TEST_F(RetrainingFleetTest, ACanaryRoutedInTheSharedStoreIsFollowedDecidedOnAllCountsAndPromotedEverywhere) {
  MonthArrives("2018-05-28");
  auto first = Step();
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->action, "published_first");
  StartReplicas(3);
  ASSERT_TRUE(AllFollow(1, 0));

  MonthArrives("2018-06-28");
  auto canary = Step();
  ASSERT_TRUE(canary.ok()) << canary.status();
  ASSERT_EQ(canary->action, "published_canary") << canary->reason;
  ASSERT_TRUE(AllFollow(1, 2)) << "a replica did not follow the shared routing";
  // The stable's realised quality on the new month and its own backtest
  // figure, on every replica's /metrics (the analysis thread reads the file).
  for (const std::string& target : metrics_targets_) {
    const int port = std::atoi(target.substr(target.rfind(':') + 1).c_str());
    std::string metrics;
    for (int i = 0; i < 50; ++i) {
      metrics = testing::HttpGet(port, "/metrics");
      if (metrics.find("recommender_model_realised_map{model_version=\"1\"}") != std::string::npos) break;
      absl::SleepFor(absl::Milliseconds(100));
    }
    EXPECT_THAT(metrics, HasSubstr("recommender_model_realised_map{model_version=\"1\"}")) << target;
    EXPECT_THAT(metrics, HasSubstr("recommender_model_realised_popularity_map{model_version=\"1\"}")) << target;
    EXPECT_THAT(metrics, HasSubstr("recommender_model_backtest_map{model_version=\"1\"}")) << target;
  }

  // Answers from one replica, feedback to the next: every replica's
  // counters hold part of the rollout.
  int impressions[2] = {0, 0};
  for (int i = 0; i < 600; ++i) {
    v1::RecommendProductsRequest request;
    request.set_customer_id(absl::StrCat(1000 + i));
    auto answer = clients_[i % 3]->Recommend(request);
    ASSERT_TRUE(answer.ok()) << answer.status();
    ASSERT_GT(answer->products_size(), 0);
    v1::ReportFeedbackRequest feedback =
        testing::FeedbackAbout(*answer, request.customer_id(), v1::FEEDBACK_EVENT_IMPRESSION);
    ASSERT_TRUE(clients_[(i + 1) % 3]->ReportFeedback(feedback).ok());
    ++impressions[answer->variant() == v1::VARIANT_CANARY];
    if (i % 5 == 0) {
      feedback.set_event(v1::FEEDBACK_EVENT_CLICK);
      ASSERT_TRUE(clients_[(i + 2) % 3]->ReportFeedback(feedback).ok());
    }
  }
  ASSERT_GE(impressions[0], 100);
  ASSERT_GE(impressions[1], 100);

  auto counters = ScrapeFleetCounters(metrics_targets_, 1, 2);
  ASSERT_TRUE(counters.ok()) << counters.status();
  EXPECT_EQ(counters->replicas, 3);
  EXPECT_EQ(counters->stable.impressions, impressions[0]) << "the sum over all replicas";
  EXPECT_EQ(counters->canary.impressions, impressions[1]);
  EXPECT_EQ(counters->stable.requests + counters->canary.requests, 600);

  auto decision = Step();
  ASSERT_TRUE(decision.ok()) << decision.status();
  EXPECT_EQ(decision->action, "promoted") << decision->reason << " " << decision->details_json;
  EXPECT_THAT(decision->details_json, HasSubstr("\"replicas\":3"));
  EXPECT_TRUE(AllFollow(2, 0)) << "the promotion did not reach every replica";
}

TEST_F(RetrainingFleetTest, AReplicaThatMirrorsTheStoreRefusesRoutingChangesNamingIt) {
  MonthArrives("2018-05-28");
  ASSERT_TRUE(Step().ok());
  RecommenderServer::Options options = testing::LoopbackServerOptions(options_.model_base, dir_ + "/audit.log");
  options.fleet_routing_source = "recommender-models:/routing.json";
  auto server = RecommenderServer::Create(options);
  ASSERT_TRUE(server.ok()) << server.status();
  RecommenderClient::Options client_options;
  client_options.target = absl::StrCat("127.0.0.1:", (*server)->port());
  auto client = RecommenderClient::Create(client_options);
  ASSERT_TRUE(client.ok());
  v1::SetRoutingRequest route;
  route.set_stable_version(1);
  for (const absl::Status& status :
       {(*client)->SetRouting(route).status(), (*client)->Rollback().status(), (*client)->PromoteCanary().status()}) {
    EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
    EXPECT_THAT(std::string(status.message()), HasSubstr("recommender-models:/routing.json"));
  }
}

}  // namespace
}  // namespace easymoney
