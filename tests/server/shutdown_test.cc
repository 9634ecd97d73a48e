// The recommender-server binary as operators run it: SIGTERM drains and
// shuts it down cleanly with the event log flushed and no call lost, other
// signals do not end it, and SIGKILL loses no feedback it acknowledged. Real
// process, real loopback gRPC, real files.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "client/recommender_client.h"
#include "core/serving/event_log.h"
#include "core/model/model_directory.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/feedback_about.h"
#include "tests/testing/test_model.h"

namespace easymoney {
namespace {

namespace fs = std::filesystem;
namespace v1 = easymoney::recommender::v1;

class ShutdownTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("shutdown");
    const testing::TestModel model = testing::MakeTestModel();
    ASSERT_TRUE(WriteModelVersion(dir_ + "/models", model.manifest, model.arrays).ok());
  }
  void TearDown() override {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    fs::remove_all(dir_);
  }

  // Starts the server binary and connects a client to the port it prints.
  void Start() {
    const std::string log = dir_ + "/server.log";
    pid_ = fork();
    ASSERT_GE(pid_, 0);
    if (pid_ == 0) {
      const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 2);
      const std::string models = "--model-base=" + dir_ + "/models";
      const std::string events = "--event-log-dir=" + dir_ + "/events";
      execl(SERVER_BINARY, SERVER_BINARY, models.c_str(), "--port=0", "--metrics-port=0", "--plaintext",
            "--allow-unauthenticated", events.c_str(), "--drain-period=1s", "--poll-interval=1h",
            static_cast<char*>(nullptr));
      _exit(127);
    }
    int port = 0;
    for (int i = 0; i < 300 && port == 0; ++i) {
      absl::SleepFor(absl::Milliseconds(20));
      std::ifstream in(log);
      std::stringstream text;
      text << in.rdbuf();
      const std::string s = text.str();
      const size_t at = s.find("gRPC on 127.0.0.1:");
      if (at != std::string::npos) port = std::atoi(s.c_str() + at + 18);
    }
    ASSERT_GT(port, 0) << "the server printed no port";
    RecommenderClient::Options options;
    options.target = absl::StrCat("127.0.0.1:", port);
    auto client = RecommenderClient::Create(options);
    ASSERT_TRUE(client.ok());
    client_ = *std::move(client);
  }

  std::string ServerLog() const {
    std::ifstream in(dir_ + "/server.log");
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  v1::RecommendProductsResponse Recommend() {
    v1::RecommendProductsRequest request;
    request.set_customer_id("10");
    auto response = client_->Recommend(request);
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? *response : v1::RecommendProductsResponse();
  }

  // Waits for the server to exit; its wait status, or -1 after 15 s.
  int AwaitExit() {
    int status = 0;
    const absl::Time deadline = absl::Now() + absl::Seconds(15);
    pid_t done = 0;
    while ((done = waitpid(pid_, &status, WNOHANG)) == 0 && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(20));
    }
    if (done != pid_) return -1;
    pid_ = -1;
    return status;
  }

  std::string dir_;
  pid_t pid_ = -1;
  std::unique_ptr<RecommenderClient> client_;
};

TEST_F(ShutdownTest, SigtermStopsCleanlyWithTheEventLogFlushed) {
  ASSERT_NO_FATAL_FAILURE(Start());
  const v1::RecommendProductsResponse answer = Recommend();
  ASSERT_FALSE(answer.request_id().empty());
  ASSERT_EQ(kill(pid_, SIGTERM), 0);
  const int status = AwaitExit();
  ASSERT_NE(status, -1) << "still running 15 s after SIGTERM";
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << ServerLog();
  EXPECT_THAT(ServerLog(), ::testing::HasSubstr("shutting down"));
  // The answer sent before the signal reached the log before the exit.
  bool found = false;
  ASSERT_TRUE(ReadEventLog(dir_ + "/events", [&](const easymoney::model::v1::EventRecord& record) {
                found |= record.kind() == "served" && record.request_id() == answer.request_id();
              }).ok());
  EXPECT_TRUE(found);
  // And nothing answers any more.
  v1::RecommendProductsRequest request;
  request.set_customer_id("10");
  EXPECT_FALSE(client_->Recommend(request).ok());
}

// A rolling update under load, five times over: SIGTERM turns health to
// NOT_SERVING at once while calls are still answered (a load balancer needs
// a moment to notice), the callers stop sending once health says so, the
// calls in flight finish, and then the server stops. Not one call may fail.
TEST_F(ShutdownTest, SigtermUnderLoadLosesNoCall) {
  for (int round = 0; round < 5; ++round) {
    ASSERT_NO_FATAL_FAILURE(Start());
    std::atomic<bool> stop_sending{false};
    std::atomic<int> ok{0};
    std::atomic<int> after_signal{0};
    std::atomic<bool> signalled{false};
    absl::Mutex mu;
    std::vector<std::string> failures;
    std::vector<std::thread> callers;
    for (int t = 0; t < 4; ++t) {
      callers.emplace_back([&] {
        v1::RecommendProductsRequest request;
        request.set_customer_id("10");
        while (!stop_sending.load()) {
          const auto response = client_->Recommend(request);
          if (response.ok()) {
            ++ok;
            if (signalled.load()) ++after_signal;
          } else {
            absl::MutexLock lock(&mu);
            failures.push_back(response.status().ToString());
          }
        }
      });
    }
    while (ok.load() < 200) absl::SleepFor(absl::Milliseconds(5));
    ASSERT_EQ(kill(pid_, SIGTERM), 0);
    signalled = true;
    // The balancer's view: stop sending once health says NOT_SERVING.
    const absl::Time deadline = absl::Now() + absl::Seconds(5);
    while (absl::Now() < deadline) {
      auto health = client_->CheckHealth();
      if (health.ok() && *health == grpc::health::v1::HealthCheckResponse::NOT_SERVING) break;
      absl::SleepFor(absl::Milliseconds(5));
    }
    stop_sending = true;
    for (std::thread& caller : callers) caller.join();
    const int status = AwaitExit();
    ASSERT_NE(status, -1) << "still running 15 s after SIGTERM";
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << ServerLog();
    absl::MutexLock lock(&mu);
    EXPECT_THAT(failures, ::testing::IsEmpty()) << "round " << round;
    EXPECT_GT(after_signal.load(), 0) << "calls after SIGTERM are still answered while draining";
    EXPECT_THAT(ServerLog(), ::testing::HasSubstr("health NOT_SERVING, still answering"));
  }
}

// SIGHUP rescans and re-reads; SIGUSR1 and SIGUSR2 mean nothing: none of
// them ends the server, and each is logged.
TEST_F(ShutdownTest, SignalsOtherThanTermAndIntDoNotStopTheServer) {
  ASSERT_NO_FATAL_FAILURE(Start());
  // A second version, found only by the SIGHUP (the poll is an hour).
  const testing::TestModel model = testing::MakeTestModel();
  ASSERT_TRUE(WriteModelVersion(dir_ + "/models", model.manifest, model.arrays).ok());
  for (int signal : {SIGHUP, SIGUSR1, SIGUSR2}) ASSERT_EQ(kill(pid_, signal), 0);
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  int64_t version = 0;
  while (absl::Now() < deadline && version != 2) {
    version = Recommend().model_version();
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_EQ(version, 2) << "SIGHUP rescans the model base";
  int status = 0;
  EXPECT_EQ(waitpid(pid_, &status, WNOHANG), 0) << "the server ended: " << ServerLog();
  const std::string log = ServerLog();
  EXPECT_THAT(log, ::testing::HasSubstr("SIGHUP: rescanning the model base"));
  EXPECT_THAT(log, ::testing::HasSubstr("has no meaning here; ignored"));
}

TEST_F(ShutdownTest, SigkillLosesNoAcknowledgedFeedback) {
  ASSERT_NO_FATAL_FAILURE(Start());
  std::set<std::string> acknowledged;
  // Keep reporting until a few hundred events are acknowledged, then kill
  // the server mid-stream without warning.
  for (int i = 0; acknowledged.size() < 300 && i < 5000; ++i) {
    const v1::RecommendProductsResponse answer = Recommend();
    if (answer.products_size() == 0) continue;
    auto result = client_->ReportFeedback(testing::FeedbackAbout(answer, "10", v1::FEEDBACK_EVENT_CLICK));
    ASSERT_TRUE(result.ok()) << result.status();
    acknowledged.insert(answer.request_id());
  }
  ASSERT_EQ(kill(pid_, SIGKILL), 0);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
  std::set<std::string> on_disk;
  ASSERT_TRUE(ReadEventLog(dir_ + "/events", [&](const easymoney::model::v1::EventRecord& record) {
                if (record.kind() == "feedback") on_disk.insert(record.request_id());
              }).ok());
  ASSERT_GE(acknowledged.size(), 300u);
  for (const std::string& id : acknowledged) EXPECT_TRUE(on_disk.contains(id)) << "acknowledged " << id << " lost";
}

}  // namespace
}  // namespace easymoney
