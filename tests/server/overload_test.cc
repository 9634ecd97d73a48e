// Overload shedding over a real loopback channel: beyond --max-in-flight
// calls the server answers RESOURCE_EXHAUSTED at once, counts it, and keeps
// answering the calls it admitted. (How latency and throughput behave at
// twice the saturating load is measured by scripts/bench-overload, not
// asserted here.)

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "client/recommender_client.h"
#include "core/model/model_directory.h"
#include "easymoney/recommender/v1/recommender.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/recommender_server.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/loopback_server.h"
#include "tests/testing/single_cpu.h"
#include "tests/testing/test_model.h"

namespace easymoney {
namespace {

namespace fs = std::filesystem;
namespace v1 = easymoney::recommender::v1;
using ::testing::HasSubstr;

// Calls sent without waiting for answers, `wave` at a time.
struct Outcomes {
  absl::Mutex mu;
  int64_t ok ABSL_GUARDED_BY(mu) = 0;
  int64_t shed ABSL_GUARDED_BY(mu) = 0;
  int64_t other ABSL_GUARDED_BY(mu) = 0;
  std::string shed_message ABSL_GUARDED_BY(mu);
  int64_t pending ABSL_GUARDED_BY(mu) = 0;
};

// A server of the test model with `max_in_flight` and `grace`, and a client
// that sends waves of 256 concurrent calls until one was shed or `waves`
// waves went out.
class OverloadTest : public ::testing::Test {
 protected:
  void StartServer(int max_in_flight, absl::Duration grace,
                   const std::optional<CpuShedController::Options>& cpu_shed = std::nullopt) {
    dir_ = testing::MakeTempDir("overload");
    const testing::TestModel model = testing::MakeTestModel();
    ASSERT_TRUE(WriteModelVersion(dir_ + "/models", model.manifest, model.arrays).ok());
    RecommenderServer::Options options = testing::LoopbackServerOptions(dir_ + "/models", dir_ + "/audit.log");
    options.max_in_flight = max_in_flight;
    options.overload_grace = grace;
    if (cpu_shed.has_value()) {
      options.shed_on_cpu_saturation = true;
      options.cpu_shed = *cpu_shed;
      options.cpu_shed_interval = absl::Milliseconds(50);
    }
    auto server = RecommenderServer::Create(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }
  void TearDown() override {
    server_.reset();
    fs::remove_all(dir_);
  }

  void SendWaves(int waves, Outcomes& outcomes) {
    auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()), grpc::InsecureChannelCredentials());
    auto stub = v1::Recommender::NewStub(channel);
    struct Call {
      grpc::ClientContext context;
      v1::RecommendProductsRequest request;
      v1::RecommendProductsResponse response;
    };
    for (int wave = 0; wave < waves; ++wave) {
      {
        absl::MutexLock lock(&outcomes.mu);
        if (outcomes.shed > 0) break;
        outcomes.pending = 256;
      }
      for (int i = 0; i < 256; ++i) {
        auto* call = new Call;
        call->context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
        call->request.set_customer_id("10");
        stub->async()->RecommendProducts(&call->context, &call->request, &call->response,
                                         [call, &outcomes](grpc::Status status) {
                                           absl::MutexLock lock(&outcomes.mu);
                                           if (status.ok() && call->response.products_size() > 0) {
                                             ++outcomes.ok;
                                           } else if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
                                             ++outcomes.shed;
                                             outcomes.shed_message = status.error_message();
                                           } else {
                                             ++outcomes.other;
                                           }
                                           --outcomes.pending;
                                           delete call;
                                         });
      }
      absl::MutexLock lock(&outcomes.mu);
      outcomes.mu.Await(absl::Condition(+[](int64_t* pending) { return *pending == 0; }, &outcomes.pending));
    }
  }
  // CPU shedding that a test on one CPU can trigger: a target of 30%, and
  // no work-share guard (the test model's handler work is tiny next to
  // gRPC's).
  static CpuShedController::Options SaturatedAtAThird() {
    CpuShedController::Options cpu_shed;
    cpu_shed.target_utilisation = 0.3;
    cpu_shed.min_work_share = 0;
    return cpu_shed;
  }

  std::string Metrics() const { return testing::HttpGet(server_->metrics_port(), "/metrics"); }

  std::string dir_;
  std::unique_ptr<RecommenderServer> server_;
};

TEST_F(OverloadTest, ShedsBeyondTheInFlightLimitAndKeepsServing) {
  StartServer(/*max_in_flight=*/2, /*grace=*/absl::ZeroDuration());
  Outcomes outcomes;
  // It takes one wave on any machine seen so far; 40 bound the test.
  SendWaves(40, outcomes);
  absl::MutexLock lock(&outcomes.mu);
  EXPECT_GT(outcomes.shed, 0);
  EXPECT_GT(outcomes.ok, 0) << "admitted calls must still be answered";
  EXPECT_EQ(outcomes.other, 0) << "every call is answered or shed, nothing else";
  EXPECT_THAT(outcomes.shed_message, HasSubstr("overloaded"));
  EXPECT_THAT(outcomes.shed_message, HasSubstr("limit 2"));
  const std::string metrics = Metrics();
  EXPECT_THAT(metrics, HasSubstr(absl::StrCat("recommender_requests_shed_total ", outcomes.shed)));
  // Shed calls count as answered without a version, by their code.
  EXPECT_THAT(metrics, HasSubstr(R"(code="RESOURCE_EXHAUSTED")"));
  // Every admitted call left the in-flight count once its answer was sent:
  // a leak would end in shedding everything. (The gauge is sampled each
  // second.)
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (Metrics().find("recommender_in_flight_requests 0\n") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_THAT(Metrics(), HasSubstr("recommender_in_flight_requests 0\n"));
}

// A burst shorter than the grace is absorbed, not shed: waves of 256 calls
// at a limit of 2 drain long before an hour.
TEST_F(OverloadTest, BurstWithinTheGraceIsNotShed) {
  StartServer(/*max_in_flight=*/2, /*grace=*/absl::Hours(1));
  Outcomes outcomes;
  SendWaves(4, outcomes);
  absl::MutexLock lock(&outcomes.mu);
  EXPECT_EQ(outcomes.shed, 0);
  EXPECT_EQ(outcomes.ok, 4 * 256);
  EXPECT_THAT(Metrics(), HasSubstr("recommender_requests_shed_total 0"));
}

// The CPU shedding path end to end: the process pinned to one CPU and kept
// busy by waves of calls reaches the (lowered) saturation threshold, the
// controller refuses a share of calls with its own message and counts them,
// and once the load stops the share goes back to 0 and calls are answered.
// The test model's handler work is tiny next to gRPC's, so the work-share
// guard is off here; CpuShedControllerTest covers the guard.
TEST_F(OverloadTest, ShedsWhileTheCpuIsSaturatedAndRecoversAfterwards) {
  // Threads started from here on inherit the mask; the server's are.
  const testing::SingleCpu pinned;
  ASSERT_TRUE(pinned.pinned());
  StartServer(/*max_in_flight=*/0, absl::ZeroDuration(), SaturatedAtAThird());
  Outcomes outcomes;
  // A wave of 256 calls takes tens of milliseconds; the controller samples
  // every 50 ms and starts refusing after the first window over 30%.
  SendWaves(400, outcomes);
  {
    absl::MutexLock lock(&outcomes.mu);
    EXPECT_GT(outcomes.shed, 0);
    EXPECT_GT(outcomes.ok, 0);
    EXPECT_EQ(outcomes.other, 0);
    EXPECT_THAT(outcomes.shed_message, HasSubstr("CPU is saturated"));
    EXPECT_THAT(Metrics(), HasSubstr(absl::StrCat("recommender_requests_shed_total ", outcomes.shed)));
  }
  EXPECT_THAT(Metrics(), HasSubstr("recommender_cpu_utilisation "));
  // Idle, the share halves every window: back to 0 within a second.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (Metrics().find("recommender_cpu_shed_share 0\n") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_THAT(Metrics(), HasSubstr("recommender_cpu_shed_share 0\n"));
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()), grpc::InsecureChannelCredentials());
  auto stub = v1::Recommender::NewStub(channel);
  grpc::ClientContext context;
  v1::RecommendProductsRequest request;
  request.set_customer_id("10");
  v1::RecommendProductsResponse response;
  EXPECT_TRUE(stub->RecommendProducts(&context, request, &response).ok());
}

}  // namespace
}  // namespace easymoney
