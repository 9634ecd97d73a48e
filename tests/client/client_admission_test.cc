// ClientAdmission against a real gRPC server on loopback: the advice comes
// back on real trailing metadata, and the report reaches the server as real
// request metadata.

#include "client/client_admission.h"

#include <memory>
#include <string>

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "core/shed_advice.h"
#include "easymoney/recommender/v1/recommender.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace easymoney {
namespace {

namespace v1 = easymoney::recommender::v1;
using ::testing::HasSubstr;

// Answers with `code`, attaching `advice` as x-easymoney-shed-advice unless
// it is empty, and keeps what the last call reported in
// x-easymoney-client-refused and x-easymoney-client-delay-ms ("" when
// nothing).
class AdvisingRecommender final : public v1::Recommender::Service {
 public:
  grpc::Status RecommendProducts(grpc::ServerContext* context, const v1::RecommendProductsRequest*,
                                 v1::RecommendProductsResponse*) override {
    absl::MutexLock lock(&mu);
    const auto reported = context->client_metadata().find(kClientRefusedKey);
    last_report = reported == context->client_metadata().end()
                      ? ""
                      : std::string(reported->second.data(), reported->second.size());
    const auto delay = context->client_metadata().find(kClientDelayKey);
    last_delay = delay == context->client_metadata().end() ? "" : std::string(delay->second.data(), delay->second.size());
    if (!advice.empty()) context->AddTrailingMetadata(kShedAdviceKey, advice);
    return grpc::Status(code, code == grpc::StatusCode::OK ? "" : "refused");
  }
  absl::Mutex mu;
  std::string advice ABSL_GUARDED_BY(mu);
  grpc::StatusCode code ABSL_GUARDED_BY(mu) = grpc::StatusCode::OK;
  std::string last_report ABSL_GUARDED_BY(mu);
  std::string last_delay ABSL_GUARDED_BY(mu);
};

class ClientAdmissionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = v1::Recommender::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  }
  void TearDown() override { server_->Shutdown(); }

  void Serve(const std::string& advice, grpc::StatusCode code = grpc::StatusCode::OK) {
    absl::MutexLock lock(&service_.mu);
    service_.advice = advice;
    service_.code = code;
  }
  std::string LastReport() {
    absl::MutexLock lock(&service_.mu);
    return service_.last_report;
  }
  std::string LastDelay() {
    absl::MutexLock lock(&service_.mu);
    return service_.last_delay;
  }

  // One call through `admission` as the client library makes it, with the
  // given draw; the call's status, or the local refusal.
  grpc::Status Call(ClientAdmission& admission, double draw, absl::Time now = absl::Now(),
                    std::optional<absl::Duration> round_trip = std::nullopt) {
    const ClientAdmission::Decision decision = admission.Decide(now, draw);
    if (!decision.send) {
      return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, std::string(decision.refusal.message()));
    }
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    ClientAdmission::Prepare(decision, context);
    v1::RecommendProductsResponse response;
    const absl::Time sent = absl::Now();
    const grpc::Status status = stub_->RecommendProducts(&context, v1::RecommendProductsRequest(), &response);
    admission.OnDone(now, context, status, round_trip.value_or(absl::Now() - sent));
    return status;
  }

  AdvisingRecommender service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::Recommender::Stub> stub_;
};

TEST_F(ClientAdmissionTest, SendsEverythingAndReportsNothingWithoutAdvice) {
  ClientAdmission admission({});
  for (const double draw : {0.0, 0.5, 0.999}) {
    EXPECT_TRUE(Call(admission, draw).ok());
    EXPECT_EQ(LastReport(), "");
  }
  EXPECT_EQ(admission.advised_share(absl::Now()), 0);
}

TEST_F(ClientAdmissionTest, RefusesTheAdvisedShareAndReportsIt) {
  ClientAdmission admission({});
  Serve("0.4");
  ASSERT_TRUE(Call(admission, 0.0).ok());  // No advice yet: sent, and it brings 0.4 back.
  EXPECT_NEAR(admission.advised_share(absl::Now()), 0.4, 1e-9);

  const ClientAdmission::Decision refused = admission.Decide(absl::Now(), 0.39);
  EXPECT_FALSE(refused.send);
  EXPECT_EQ(refused.refused_by, ClientAdmission::Refuser::kShedAdvice);
  EXPECT_EQ(refused.refusal.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(refused.refusal.message(), HasSubstr("refused by the client: the server advised refusing 40%"));

  ASSERT_TRUE(Call(admission, 0.4).ok());
  EXPECT_EQ(LastReport(), "0.400");
}

TEST_F(ClientAdmissionTest, AnOkAnswerWithoutAdviceWithdrawsIt) {
  ClientAdmission admission({});
  Serve("0.7");
  ASSERT_TRUE(Call(admission, 0.99).ok());
  ASSERT_NEAR(admission.advised_share(absl::Now()), 0.7, 1e-9);
  Serve("");
  ASSERT_TRUE(Call(admission, 0.99).ok());
  EXPECT_EQ(admission.advised_share(absl::Now()), 0);
  EXPECT_TRUE(Call(admission, 0.0).ok());
  EXPECT_EQ(LastReport(), "");
}

// A refusal that carries advice renews it; a failure without advice (which
// may not have come from the server at all) leaves it standing.
TEST_F(ClientAdmissionTest, FailuresWithoutAdviceLeaveItStanding) {
  ClientAdmission admission({});
  Serve("0.5", grpc::StatusCode::RESOURCE_EXHAUSTED);
  ASSERT_EQ(Call(admission, 0.99).error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  ASSERT_NEAR(admission.advised_share(absl::Now()), 0.5, 1e-9);
  Serve("", grpc::StatusCode::UNAVAILABLE);
  ASSERT_EQ(Call(admission, 0.99).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_NEAR(admission.advised_share(absl::Now()), 0.5, 1e-9);
}

TEST_F(ClientAdmissionTest, CapsTheAdviceAndIgnoresNonsense) {
  ClientAdmission admission({});
  Serve("1");
  ASSERT_TRUE(Call(admission, 0.99).ok());
  EXPECT_NEAR(admission.advised_share(absl::Now()), kMaxAdvisedShare, 1e-9);
  EXPECT_TRUE(admission.Decide(absl::Now(), 0.95).send) << "some calls always reach the server";
  Serve("lots");
  ASSERT_TRUE(Call(admission, 0.99).ok());
  EXPECT_NEAR(admission.advised_share(absl::Now()), kMaxAdvisedShare, 1e-9);
}

TEST_F(ClientAdmissionTest, AdviceNotRenewedExpires) {
  ClientAdmission admission({.advice_lifetime = absl::Seconds(2)});
  Serve("0.6");
  const absl::Time start = absl::Now();
  ASSERT_TRUE(Call(admission, 0.99, start).ok());
  EXPECT_NEAR(admission.advised_share(start + absl::Seconds(1)), 0.6, 1e-9);
  EXPECT_EQ(admission.advised_share(start + absl::Seconds(3)), 0);
  EXPECT_TRUE(admission.Decide(start + absl::Seconds(3), 0.0).send);
}

TEST_F(ClientAdmissionTest, AdviceIsIgnoredWhenNotFollowed) {
  ClientAdmission admission({.follow_shed_advice = false});
  EXPECT_FALSE(admission.enabled());
  Serve("0.9");
  ASSERT_TRUE(Call(admission, 0.5).ok());
  EXPECT_EQ(admission.advised_share(absl::Now()), 0);
  EXPECT_TRUE(Call(admission, 0.0).ok());
  EXPECT_EQ(LastReport(), "");
}

// With the adaptive throttle as well, a call is sent with (1 - a)(1 - p):
// draws under a are the advice's refusals, draws from a to that combined
// probability the throttle's, and the report is the combined probability.
TEST_F(ClientAdmissionTest, CombinesTheAdviceWithTheAdaptiveThrottle) {
  ClientAdmission admission({.adaptive_throttle = 2});
  Serve("0.5", grpc::StatusCode::RESOURCE_EXHAUSTED);
  // Refused by the server every time: before the (n + 1)th call the
  // throttle refuses with n / (n + 1).
  for (int i = 0; i < 9; ++i) ASSERT_EQ(Call(admission, 0.999).error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  const ClientAdmission::Decision decision = admission.Decide(absl::Now(), 0.7);
  // After 9 requests and no accepts: p = 0.9; a = 0.5.
  EXPECT_NEAR(decision.refusal_probability, 1 - 0.5 * (1 - 0.9), 1e-9);
  EXPECT_FALSE(decision.send);
  EXPECT_EQ(decision.refused_by, ClientAdmission::Refuser::kAdaptiveThrottle);
  EXPECT_THAT(decision.refusal.message(), HasSubstr("adaptive throttling"));
  EXPECT_EQ(admission.Decide(absl::Now(), 0.2).refused_by, ClientAdmission::Refuser::kShedAdvice);
}

// The delay report: the recent OK answers' round trip (each answer moving
// the average a fifth of the way) beyond the fastest, sent only while
// advice is in force.
TEST_F(ClientAdmissionTest, ReportsItsQueueDelayOnlyWhileAdviceIsInForce) {
  ClientAdmission admission({});
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Call(admission, 0.99, absl::Now(), absl::Milliseconds(1)).ok());
  EXPECT_EQ(LastDelay(), "") << "no advice, no report";
  EXPECT_NEAR(*admission.queue_delay(absl::Now()), 0, 1e-12);

  Serve("0.4");
  ASSERT_TRUE(Call(admission, 0.99, absl::Now(), absl::Milliseconds(11)).ok());  // Brings the advice.
  EXPECT_EQ(LastDelay(), "");
  EXPECT_NEAR(*admission.queue_delay(absl::Now()), 0.002, 1e-9);  // 1 + (11 - 1) / 5, less 1 ms.
  ASSERT_TRUE(Call(admission, 0.99, absl::Now(), absl::Milliseconds(1)).ok());
  EXPECT_EQ(LastDelay(), "2.0");

  Serve("");
  ASSERT_TRUE(Call(admission, 0.99).ok());  // Withdraws it.
  ASSERT_TRUE(Call(admission, 0.99).ok());
  EXPECT_EQ(LastDelay(), "");
}

// Refusals and failures skip the server's work and would read as fast:
// only OK answers are timed.
TEST_F(ClientAdmissionTest, TimesOnlyAnswers) {
  ClientAdmission admission({});
  EXPECT_EQ(admission.queue_delay(absl::Now()), std::nullopt);
  Serve("0.5", grpc::StatusCode::RESOURCE_EXHAUSTED);
  ASSERT_FALSE(Call(admission, 0.99, absl::Now(), absl::Microseconds(10)).ok());
  EXPECT_EQ(admission.queue_delay(absl::Now()), std::nullopt);
  Serve("0.5");
  ASSERT_TRUE(Call(admission, 0.99, absl::Now(), absl::Milliseconds(4)).ok());
  EXPECT_NEAR(*admission.queue_delay(absl::Now()), 0, 1e-12);  // The one answer is the fastest.
  Serve("0.5", grpc::StatusCode::RESOURCE_EXHAUSTED);
  ASSERT_FALSE(Call(admission, 0.99, absl::Now(), absl::Microseconds(10)).ok());
  EXPECT_NEAR(*admission.queue_delay(absl::Now()), 0, 1e-12) << "the refusal did not become the fastest answer";
}

// The fastest answer is the least of the current and the previous
// fastest_window, so a client that moves to a slower path stops counting
// the difference as queueing after one to two windows.
TEST_F(ClientAdmissionTest, TheFastestAnswerIsForgottenAfterTwoWindows) {
  ClientAdmission admission({.fastest_window = absl::Seconds(10), .delay_lifetime = absl::Seconds(30)});
  const absl::Time start = absl::Now();
  ASSERT_TRUE(Call(admission, 0.99, start, absl::Milliseconds(1)).ok());
  const absl::Time later = start + absl::Seconds(11);
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(Call(admission, 0.99, later, absl::Milliseconds(5)).ok());
  EXPECT_NEAR(*admission.queue_delay(later), 0.004, 1e-5) << "1 ms is still the fastest of the last two windows";
  const absl::Time much_later = start + absl::Seconds(22);
  ASSERT_TRUE(Call(admission, 0.99, much_later, absl::Milliseconds(5)).ok());
  EXPECT_NEAR(*admission.queue_delay(much_later), 0, 1e-5);
}

// A client with few calls would report a queue long drained: an average no
// answer has renewed for delay_lifetime is not reported, and the next answer
// starts it afresh instead of moving it a fifth of the way.
TEST_F(ClientAdmissionTest, AStaleDelayIsNotReported) {
  ClientAdmission admission({.delay_lifetime = absl::Seconds(1)});
  Serve("0.5");
  const absl::Time start = absl::Now();
  ASSERT_TRUE(Call(admission, 0.99, start, absl::Milliseconds(1)).ok());
  ASSERT_TRUE(Call(admission, 0.99, start, absl::Milliseconds(51)).ok());
  EXPECT_NEAR(*admission.queue_delay(start), 0.01, 1e-9);
  EXPECT_EQ(admission.queue_delay(start + absl::Seconds(2)), std::nullopt);
  EXPECT_FALSE(admission.Decide(start + absl::Milliseconds(1500), 0.99).queue_delay.has_value());
  ASSERT_TRUE(Call(admission, 0.99, start + absl::Seconds(2), absl::Milliseconds(1)).ok());
  EXPECT_NEAR(*admission.queue_delay(start + absl::Seconds(2)), 0, 1e-9);
}

}  // namespace
}  // namespace easymoney
