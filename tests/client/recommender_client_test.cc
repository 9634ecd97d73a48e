// RecommenderClient against a real gRPC server on loopback.

#include "client/recommender_client.h"

#include <atomic>
#include <memory>
#include <string>

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "easymoney/recommender/v1/recommender.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace easymoney {
namespace {

namespace v1 = easymoney::recommender::v1;
using ::testing::HasSubstr;

// A Recommender that refuses every call for overload while `overloaded`,
// answers otherwise, and counts the calls that reach it.
class SheddingRecommender final : public v1::Recommender::Service {
 public:
  grpc::Status RecommendProducts(grpc::ServerContext*, const v1::RecommendProductsRequest*,
                                 v1::RecommendProductsResponse*) override {
    calls.fetch_add(1, std::memory_order_relaxed);
    if (overloaded.load(std::memory_order_relaxed)) {
      return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "overloaded");
    }
    return grpc::Status::OK;
  }
  std::atomic<int> calls{0};
  std::atomic<bool> overloaded{true};
};

class RecommenderClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }
  void TearDown() override { server_->Shutdown(); }

  std::unique_ptr<RecommenderClient> Client(double adaptive_throttle) {
    RecommenderClient::Options options;
    options.target = absl::StrCat("127.0.0.1:", port_);
    options.adaptive_throttle = adaptive_throttle;
    options.adaptive_throttle_window = absl::Seconds(1);
    auto client = RecommenderClient::Create(options);
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? *std::move(client) : nullptr;
  }

  SheddingRecommender service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

TEST_F(RecommenderClientTest, WithoutThrottlingEveryCallReachesAnOverloadedServer) {
  auto client = Client(0);
  ASSERT_NE(client, nullptr);
  for (int i = 0; i < 200; ++i) {
    EXPECT_EQ(client->Recommend({}).status().code(), absl::StatusCode::kResourceExhausted);
  }
  EXPECT_EQ(service_.calls.load(), 200);
}

// While the server refuses everything for overload, a throttling client
// keeps most of its calls to itself, and says so; once the server answers
// again and the overload has left the (here 1 s) window, calls go through.
TEST_F(RecommenderClientTest, AdaptiveThrottlingRefusesLocallyWhileTheServerSheds) {
  auto client = Client(2.0);
  ASSERT_NE(client, nullptr);
  int local = 0;
  for (int i = 0; i < 1000; ++i) {
    const absl::Status status = client->Recommend({}).status();
    ASSERT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
    if (absl::StrContains(status.message(), "refused by the client")) ++local;
  }
  EXPECT_EQ(service_.calls.load() + local, 1000);
  EXPECT_LT(service_.calls.load(), 100) << "the server should have seen only the first calls and a trickle";

  service_.overloaded = false;
  absl::SleepFor(absl::Milliseconds(1200));
  int ok = 0;
  for (int i = 0; i < 200; ++i) ok += client->Recommend({}).ok() ? 1 : 0;
  EXPECT_EQ(ok, 200);
}

}  // namespace
}  // namespace easymoney
