#include "client/fleet_counters.h"

#include <cmath>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace easymoney {
namespace {

// Two replicas' expositions, in the server's metric names and labels.
std::string Exposition(int stable_impressions, int canary_impressions, int canary_errors) {
  std::string text = "# HELP recommender_requests_total Finished RPCs.\n# TYPE recommender_requests_total counter\n";
  text += "recommender_requests_total{code=\"OK\",method=\"RecommendProducts\",model_version=\"1\",variant=\"stable\"} " +
          std::to_string(stable_impressions) + "\n";
  text += "recommender_requests_total{code=\"OK\",method=\"RecommendProducts\",model_version=\"2\",variant=\"canary\"} " +
          std::to_string(canary_impressions) + "\n";
  text += "recommender_requests_total{code=\"INTERNAL\",method=\"RecommendProducts\",model_version=\"2\","
          "variant=\"canary\"} " + std::to_string(canary_errors) + "\n";
  text += "recommender_requests_total{code=\"INVALID_ARGUMENT\",method=\"RecommendProducts\",model_version=\"2\","
          "variant=\"canary\"} 7\n";
  // Another version's series and another method are not counted.
  text += "recommender_requests_total{code=\"OK\",method=\"RecommendProducts\",model_version=\"3\",variant=\"canary\"} 99\n";
  text += "recommender_requests_total{code=\"OK\",method=\"GetModelInfo\",model_version=\"1\",variant=\"stable\"} 99\n";
  text += "recommender_feedback_events_total{event=\"impression\",model_version=\"1\",variant=\"stable\"} " +
          std::to_string(stable_impressions) + "\n";
  text += "recommender_feedback_events_total{event=\"click\",model_version=\"1\",variant=\"stable\"} 10\n";
  text += "recommender_feedback_events_total{event=\"impression\",model_version=\"2\",variant=\"canary\"} " +
          std::to_string(canary_impressions) + "\n";
  text += "recommender_feedback_events_total{event=\"conversion\",model_version=\"2\",variant=\"canary\"} 3\n";
  for (const char* variant : {"stable", "canary"}) {
    const char* version = std::string(variant) == "stable" ? "1" : "2";
    const auto bucket = [&](const char* le, int count) {
      text += std::string("recommender_request_duration_seconds_bucket{method=\"RecommendProducts\",model_version=\"") +
              version + "\",variant=\"" + variant + "\",le=\"" + le + "\"} " + std::to_string(count) + "\n";
    };
    bucket("0.001", 90);
    bucket("0.002", 99);
    bucket("0.004", 100);
    bucket("+Inf", 100);
  }
  return text;
}

TEST(SumFleetCounters, AddsEveryReplicasSeriesOfTheRolloutsVersionsOnly) {
  const FleetCounters fleet = SumFleetCounters({Exposition(300, 100, 2), Exposition(200, 50, 1)}, 1, 2);
  EXPECT_EQ(fleet.replicas, 2);
  EXPECT_EQ(fleet.stable.requests, 500);
  EXPECT_EQ(fleet.stable.impressions, 500);
  EXPECT_EQ(fleet.stable.clicks, 20);
  EXPECT_EQ(fleet.stable.server_errors, 0);
  EXPECT_EQ(fleet.canary.requests, 150 + 3 + 14);  // Client errors are requests, not server errors.
  EXPECT_EQ(fleet.canary.server_errors, 3);
  EXPECT_EQ(fleet.canary.impressions, 150);
  EXPECT_EQ(fleet.canary.conversions, 6);
  // 99 of 100 at or below 2 ms in the summed buckets.
  EXPECT_NEAR(fleet.stable.p99_seconds, 0.002, 1e-9);
  EXPECT_NEAR(fleet.canary.p99_seconds, 0.002, 1e-9);
}

TEST(SumFleetCounters, NoSeriesMeansZerosAndAnUnknownP99) {
  const FleetCounters fleet = SumFleetCounters({"# nothing here\n"}, 1, 2);
  EXPECT_EQ(fleet.canary.impressions, 0);
  EXPECT_TRUE(std::isnan(fleet.canary.p99_seconds));
}

TEST(ScrapeFleetCounters, AReplicaThatDoesNotAnswerFailsTheWholeScrape) {
  // Port 1 on loopback: nothing listens there.
  auto fleet = ScrapeFleetCounters({"127.0.0.1:1"}, 1, 2);
  EXPECT_EQ(fleet.status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace easymoney
