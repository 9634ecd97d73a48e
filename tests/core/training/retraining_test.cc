// The retraining loop's steps over simulated months on real files: data
// written by the generator month by month, versions and routing.json in a
// model base, the fleet's counters given by the test.
#include "core/training/retraining.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "core/model/model_directory.h"
#include "core/serving/routing_file.h"
#include "core/training/datagen.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace easymoney {
namespace {

using ::testing::HasSubstr;

FleetCounters Counters(double impressions, double stable_clicks, double canary_clicks) {
  FleetCounters fleet;
  fleet.replicas = 3;
  for (VariantCounters* c : {&fleet.stable, &fleet.canary}) {
    c->requests = impressions;
    c->impressions = impressions;
    c->p99_seconds = 0.001;
  }
  fleet.stable.clicks = stable_clicks;
  fleet.canary.clicks = canary_clicks;
  return fleet;
}

TEST(DecideCanary, WaitsForImpressionsThenPromotesOrRollsBack) {
  const PromotionCriteria criteria;
  EXPECT_EQ(DecideCanary(Counters(999, 100, 100), criteria).action, "waiting");
  EXPECT_THAT(DecideCanary(Counters(999, 100, 100), criteria).reason, HasSubstr("999 stable and 999 canary"));
  EXPECT_EQ(DecideCanary(Counters(5000, 500, 490), criteria).action, "promoted");  // Within noise.
  const RetrainResult loss = DecideCanary(Counters(5000, 500, 350), criteria);
  EXPECT_EQ(loss.action, "rolled_back");
  EXPECT_THAT(loss.reason, HasSubstr("CTR 0.0700 against the stable's 0.1000"));
  FleetCounters errors = Counters(5000, 500, 500);
  errors.canary.server_errors = 200;
  EXPECT_THAT(DecideCanary(errors, criteria).reason, HasSubstr("server-error ratio 0.0400"));
  FleetCounters slow = Counters(5000, 500, 500);
  slow.canary.p99_seconds = 0.002;
  EXPECT_EQ(DecideCanary(slow, criteria).action, "rolled_back");
  // Below the 1 ms floor a doubled p99 is noise, not a loss.
  FleetCounters fast = Counters(5000, 500, 500);
  fast.stable.p99_seconds = 0.00002;
  fast.canary.p99_seconds = 0.00005;
  EXPECT_EQ(DecideCanary(fast, criteria).action, "promoted");
}

class RetrainingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = absl::StrCat(::testing::TempDir(), "/retraining_", ::getpid());
    std::filesystem::remove_all(dir_);
    options_.data_dir = dir_ + "/data";
    options_.model_base = dir_ + "/models";
    options_.trainer.num_factors = 4;
    options_.trainer.num_clusters = 3;
    options_.trainer.backtest_months = 1;
    options_.promotion.min_impressions = 100;
    // Tests of the sequence let every candidate through the popularity
    // gate (3,000 customers are few); CandidatesBelowTheMarginsAreBlocked
    // tests the gate.
    options_.max_loss_vs_popularity = 1;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // The data as it stands once `month` has arrived.
  void MonthArrives(const std::string& month, const std::string& broken = "") {
    DatagenOptions data;
    data.num_customers = 3000;
    data.out_dir = options_.data_dir;
    data.last_partition = month;
    data.broken_partition = broken;
    ASSERT_TRUE(GenerateEasyMoneyTables(data).ok());
  }

  RetrainResult Step() {
    auto result = RunRetrainStep(options_, [this](int64_t, int64_t) { return absl::StatusOr<FleetCounters>(fleet_); });
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *result : RetrainResult();
  }

  easymoney::model::v1::RoutingConfig Routing() {
    RoutingFile file(options_.model_base);
    auto read = file.ReadIfChanged();
    EXPECT_TRUE(read.ok()) << read.status();
    return read.ok() && read->has_value() ? **read : easymoney::model::v1::RoutingConfig();
  }

  std::vector<int64_t> Versions() { return ListModelVersions(options_.model_base).value_or(std::vector<int64_t>{}); }

  std::string dir_;
  RetrainOptions options_;
  FleetCounters fleet_;
};

TEST_F(RetrainingTest, MonthsArrivePublishCanaryDecideBlockAndOverride) {
  MonthArrives("2018-05-28");
  RetrainResult result = Step();
  EXPECT_EQ(result.action, "published_first") << result.reason;
  EXPECT_EQ(Routing().stable_version(), 1);

  EXPECT_EQ(Step().action, "nothing_new");
  EXPECT_EQ(Versions().size(), 1u);

  // A new month: validated, gated, published as a 10% canary.
  MonthArrives("2018-06-28");
  result = Step();
  ASSERT_EQ(result.action, "published_canary") << result.reason;
  EXPECT_EQ(result.version, 2);
  EXPECT_THAT(result.details_json, HasSubstr("\"validation\":{\"partition\":\"2018-06-28\""));
  EXPECT_THAT(result.details_json, HasSubstr("\"quality\":{\"partition\":\"2018-06-28\",\"stable_version\":1"));
  auto routing = Routing();
  EXPECT_EQ(routing.stable_version(), 1);
  EXPECT_EQ(routing.canary_version(), 2);
  EXPECT_EQ(routing.canary_percent(), 10);
  EXPECT_FALSE(routing.analysis().enabled()) << "no replica may end the fleet's rollout alone";
  // The stable's realised quality on the new month, for the servers' gauge.
  std::ifstream quality_file(options_.model_base + "/realised_quality.json");
  std::stringstream quality;
  quality << quality_file.rdbuf();
  EXPECT_THAT(quality.str(), HasSubstr("\"model_version\": \"1\""));
  EXPECT_THAT(quality.str(), HasSubstr("\"partition\": \"2018-06-28\""));

  // Too few impressions yet; then a clear loss rolls it back.
  fleet_ = Counters(50, 5, 5);
  EXPECT_EQ(Step().action, "waiting");
  fleet_ = Counters(5000, 500, 300);
  result = Step();
  EXPECT_EQ(result.action, "rolled_back") << result.reason;
  routing = Routing();
  EXPECT_EQ(routing.stable_version(), 1);
  EXPECT_EQ(routing.canary_version(), 0);
  // The rolled-back month is not tried again.
  EXPECT_EQ(Step().action, "nothing_new");

  // A broken month is blocked: nothing published, routing untouched.
  MonthArrives("2018-07-28", /*broken=*/"2018-07-28");
  result = Step();
  EXPECT_EQ(result.action, "blocked");
  EXPECT_THAT(result.reason, HasSubstr("empty_product_flags"));
  EXPECT_EQ(Versions().size(), 2u);
  EXPECT_EQ(Routing().canary_version(), 0);

  // An override publishes it all the same, and says so.
  options_.override_reason = "ticket OPS-42: flags re-exported next week";
  result = Step();
  EXPECT_EQ(result.action, "published_canary") << result.reason;
  EXPECT_THAT(result.details_json, HasSubstr("\"override\":{\"reason\":\"ticket OPS-42"));
  options_.override_reason.clear();

  // Enough impressions and no loss: promoted fleet-wide.
  fleet_ = Counters(5000, 500, 510);
  result = Step();
  EXPECT_EQ(result.action, "promoted") << result.reason;
  routing = Routing();
  EXPECT_EQ(routing.stable_version(), 3);
  EXPECT_EQ(routing.canary_version(), 0);
}

TEST_F(RetrainingTest, AVersionPublishedByAStepStoppedBeforeRoutingIsRoutedByTheNext) {
  MonthArrives("2018-05-28");
  ASSERT_EQ(Step().action, "published_first");
  MonthArrives("2018-06-28");
  // What a step stopped between publishing and routing leaves behind: a new
  // version, routing.json without a canary.
  TrainerOptions trainer = options_.trainer;
  trainer.data_dir = options_.data_dir;
  trainer.model_base = options_.model_base;
  auto orphan = TrainEasyMoneyModel(trainer);
  ASSERT_TRUE(orphan.ok()) << orphan.status();
  const RetrainResult result = Step();
  EXPECT_EQ(result.action, "published_canary") << result.reason;
  EXPECT_EQ(result.version, orphan->version);
  EXPECT_THAT(result.reason, HasSubstr("stopped before it routed it"));
  EXPECT_EQ(Routing().canary_version(), orphan->version);
  EXPECT_EQ(Routing().stable_version(), 1);
}

TEST_F(RetrainingTest, CandidatesBelowTheMarginsAreBlocked) {
  MonthArrives("2018-05-28");
  ASSERT_EQ(Step().action, "published_first");
  MonthArrives("2018-06-28");
  // A margin no candidate can meet: twice popularity's realised MAP@7.
  options_.max_loss_vs_popularity = -1;
  RetrainResult result = Step();
  EXPECT_EQ(result.action, "blocked");
  EXPECT_THAT(result.reason, HasSubstr("is below popularity's"));
  EXPECT_EQ(Versions().size(), 1u) << "a blocked candidate published something";
  EXPECT_EQ(Routing().canary_version(), 0);
  // And one no candidate can meet against the stable.
  options_.max_loss_vs_popularity = 1;
  options_.max_loss_vs_stable = -1;
  result = Step();
  EXPECT_EQ(result.action, "blocked");
  EXPECT_THAT(result.reason, HasSubstr("is below the stable's"));
  // The same month passes once the margins allow it.
  options_.max_loss_vs_stable = 0.05;
  EXPECT_EQ(Step().action, "published_canary");
}

TEST_F(RetrainingTest, RunRecordsAreAppendedAsJsonLines) {
  std::filesystem::create_directories(options_.model_base);
  ASSERT_TRUE(AppendRunRecord(options_.model_base, "{\"action\":\"nothing_new\"}").ok());
  ASSERT_TRUE(AppendRunRecord(options_.model_base, "{\"action\":\"waiting\"}").ok());
  std::ifstream in(options_.model_base + "/retrain_log.jsonl");
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), "{\"action\":\"nothing_new\"}\n{\"action\":\"waiting\"}\n");
}

}  // namespace
}  // namespace easymoney
