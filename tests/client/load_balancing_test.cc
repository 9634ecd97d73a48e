#include "client/load_balancing.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/client_context.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "easymoney/recommender/v1/recommender.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace easymoney {
namespace {

namespace v1 = easymoney::recommender::v1;

TEST(LoadBalancingTest, ChoosesRoundRobinWhenTheTargetListsSeveralAddresses) {
  EXPECT_EQ(*ChooseLoadBalancingPolicy("ipv4:127.0.0.1:1,127.0.0.1:2", ""), "round_robin");
  EXPECT_EQ(*ChooseLoadBalancingPolicy("ipv6:[::1]:1,[::1]:2", ""), "round_robin");
}

TEST(LoadBalancingTest, LeavesTheDefaultToGrpcForOneAddressOrAName) {
  for (const char* target : {"127.0.0.1:50051", "ipv4:127.0.0.1:50051", "dns:///recommender-headless:50051"}) {
    EXPECT_EQ(*ChooseLoadBalancingPolicy(target, ""), "") << target;
  }
}

TEST(LoadBalancingTest, AnExplicitPolicyWins) {
  EXPECT_EQ(*ChooseLoadBalancingPolicy("ipv4:127.0.0.1:1,127.0.0.1:2", "pick_first"), "pick_first");
  EXPECT_EQ(*ChooseLoadBalancingPolicy("dns:///recommender-headless:50051", "round_robin"), "round_robin");
}

TEST(LoadBalancingTest, RefusesAnUnknownPolicyOrAnEmptyTarget) {
  const absl::StatusOr<std::string> policy = ChooseLoadBalancingPolicy("127.0.0.1:1", "least_request");
  EXPECT_EQ(policy.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(policy.status().message(), ::testing::HasSubstr("least_request"));
  EXPECT_EQ(CreateBalancedChannel("127.0.0.1:1", "weighted").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CreateBalancedChannel("", "").status().code(), absl::StatusCode::kInvalidArgument);
}

// A Recommender that only counts the calls it answers.
class CountingRecommender final : public v1::Recommender::Service {
 public:
  grpc::Status RecommendProducts(grpc::ServerContext*, const v1::RecommendProductsRequest*,
                                 v1::RecommendProductsResponse*) override {
    calls_.fetch_add(1, std::memory_order_relaxed);
    return grpc::Status::OK;
  }
  int calls() const { return calls_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int> calls_{0};
};

// Three servers on loopback and the ipv4: list that names them all.
class ThreeServers {
 public:
  ThreeServers() {
    std::vector<std::string> addresses;
    for (int i = 0; i < 3; ++i) {
      auto& backend = backends_.emplace_back(std::make_unique<Backend>());
      grpc::ServerBuilder builder;
      int port = 0;
      builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
      builder.RegisterService(&backend->service);
      backend->server = builder.BuildAndStart();
      addresses.push_back(absl::StrCat("127.0.0.1:", port));
    }
    target_ = absl::StrCat("ipv4:", absl::StrJoin(addresses, ","));
  }
  ~ThreeServers() {
    for (auto& backend : backends_) backend->server->Shutdown();
  }

  const std::string& target() const { return target_; }
  std::vector<int> Calls() const {
    std::vector<int> calls;
    for (const auto& backend : backends_) calls.push_back(backend->service.calls());
    return calls;
  }

 private:
  struct Backend {
    CountingRecommender service;
    std::unique_ptr<grpc::Server> server;
  };
  std::vector<std::unique_ptr<Backend>> backends_;
  std::string target_;
};

// Sends `count` calls one after another; each waits for a ready backend.
void SendCalls(const std::shared_ptr<grpc::Channel>& channel, int count) {
  auto stub = v1::Recommender::NewStub(channel);
  for (int i = 0; i < count; ++i) {
    grpc::ClientContext context;
    context.set_wait_for_ready(true);
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::RecommendProductsRequest request;
    v1::RecommendProductsResponse response;
    ASSERT_TRUE(stub->RecommendProducts(&context, request, &response).ok());
  }
}

TEST(LoadBalancingTest, SpreadsCallsOverEveryAddressOfAList) {
  ThreeServers servers;
  auto channel = CreateBalancedChannel(servers.target(), "");
  ASSERT_TRUE(channel.ok()) << channel.status();
  // round_robin connects to every address; once all are READY each pick
  // takes the next one.
  // round_robin connects to every address and picks among the READY ones,
  // so every server answers once its connection is up.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  int sent = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    const std::vector<int> calls = servers.Calls();
    if (*std::min_element(calls.begin(), calls.end()) > 0) break;
    SendCalls(*channel, 10);
    sent += 10;
  }
  const std::vector<int> calls = servers.Calls();
  EXPECT_EQ(calls[0] + calls[1] + calls[2], sent);
  EXPECT_THAT(calls, ::testing::Each(::testing::Gt(0))) << servers.target();
}

TEST(LoadBalancingTest, PickFirstSendsEveryCallToOneAddress) {
  ThreeServers servers;
  auto channel = CreateBalancedChannel(servers.target(), "pick_first");
  ASSERT_TRUE(channel.ok()) << channel.status();
  SendCalls(*channel, 30);
  EXPECT_THAT(servers.Calls(), ::testing::UnorderedElementsAre(30, 0, 0)) << servers.target();
}

}  // namespace
}  // namespace easymoney
