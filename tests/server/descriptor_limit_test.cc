// The recommender-server binary under a low descriptor limit, flooded with
// idle connections: it refuses the excess instead of running out, says
// NOT_SERVING on the probe port meanwhile, counts the refusals, and its
// gRPC port serves again once the connections are gone (gRPC 1.51's own
// listener stopped accepting for good after one EMFILE). Real process, real
// loopback TCP and gRPC.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <grpcpp/health_check_service_interface.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/recommender_client.h"
#include "core/model/model_directory.h"
#include "gtest/gtest.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/test_model.h"

namespace easymoney {
namespace {

namespace fs = std::filesystem;
using ServingStatus = grpc::health::v1::HealthCheckResponse::ServingStatus;

// Descriptors the server may hold: low enough that a test can exhaust them.
constexpr rlim_t kServerDescriptorLimit = 128;

// The number after `marker` in `text`, or 0.
int NumberAfter(const std::string& text, const std::string& marker) {
  const size_t at = text.find(marker);
  if (at == std::string::npos) return 0;
  return std::atoi(text.c_str() + at + marker.size());
}

class DescriptorLimitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("descriptor_limit");
    const testing::TestModel model = testing::MakeTestModel();
    ASSERT_TRUE(WriteModelVersion(dir_ + "/models", model.manifest, model.arrays).ok());
    const std::string log = dir_ + "/server.log";
    pid_ = fork();
    ASSERT_GE(pid_, 0);
    if (pid_ == 0) {
      const rlimit limit{kServerDescriptorLimit, kServerDescriptorLimit};
      setrlimit(RLIMIT_NOFILE, &limit);
      const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 2);
      const std::string models = "--model-base=" + dir_ + "/models";
      execl(SERVER_BINARY, SERVER_BINARY, models.c_str(), "--port=0", "--metrics-port=0", "--plaintext",
            "--allow-unauthenticated", "--health-address=127.0.0.1:0", "--drain-period=0s", "--poll-interval=1h",
            static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 300 && (port_ == 0 || health_port_ == 0); ++i) {
      absl::SleepFor(absl::Milliseconds(20));
      const std::string text = ServerLog();
      port_ = NumberAfter(text, "gRPC on 127.0.0.1:");
      metrics_port_ = NumberAfter(text, "metrics on http://127.0.0.1:");
      health_port_ = NumberAfter(text, "plaintext health checks on port ");
    }
    ASSERT_GT(port_, 0) << ServerLog();
    ASSERT_GT(health_port_, 0) << ServerLog();
  }
  void TearDown() override {
    for (int fd : idle_) close(fd);
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    fs::remove_all(dir_);
  }

  std::string ServerLog() const {
    std::ifstream in(dir_ + "/server.log");
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  std::unique_ptr<RecommenderClient> ClientOf(int port) {
    RecommenderClient::Options options;
    options.target = absl::StrCat("127.0.0.1:", port);
    options.timeout = absl::Seconds(2);
    auto client = RecommenderClient::Create(options);
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? *std::move(client) : nullptr;
  }

  // Polls `probe` every 100 ms for up to `patience`; whether it held once.
  template <typename Probe>
  static bool Eventually(Probe probe, absl::Duration patience) {
    const absl::Time deadline = absl::Now() + patience;
    while (absl::Now() < deadline) {
      if (probe()) return true;
      absl::SleepFor(absl::Milliseconds(100));
    }
    return false;
  }

  double RefusedOnGrpcPort() const {
    const std::string body = testing::HttpGet(metrics_port_, "/metrics");
    const std::string series = "recommender_connections_refused_total{port=\"grpc\"} ";
    const size_t at = body.find(series);
    double value = -1;
    if (at == std::string::npos) return value;
    const size_t end = body.find('\n', at);
    (void)absl::SimpleAtod(body.substr(at + series.size(), end - at - series.size()), &value);
    return value;
  }

  std::string dir_;
  pid_t pid_ = -1;
  int port_ = 0;
  int metrics_port_ = 0;
  int health_port_ = 0;
  std::vector<int> idle_;
};

TEST_F(DescriptorLimitTest, IdleConnectionsBeyondTheLimitAreRefusedAndThePortServesOnceTheyAreGone) {
  auto client = ClientOf(port_);
  auto probe = ClientOf(health_port_);
  ASSERT_NE(client, nullptr);
  ASSERT_NE(probe, nullptr);
  easymoney::recommender::v1::RecommendProductsRequest request;
  request.set_customer_id("10");
  ASSERT_TRUE(client->Recommend(request).ok());

  // Twice the server's whole descriptor limit in idle connections: the
  // kernel completes every handshake; the server must refuse the excess.
  for (rlim_t i = 0; i < 2 * kServerDescriptorLimit; ++i) {
    const int fd = testing::ConnectLoopback(port_);
    if (fd >= 0) idle_.push_back(fd);
  }
  EXPECT_TRUE(Eventually([&] { return RefusedOnGrpcPort() > 0; }, absl::Seconds(10)))
      << "no refusal counted; metrics say " << RefusedOnGrpcPort();
  // The probe port keeps descriptors of its own: it connects and says the
  // replica should take no new connections.
  EXPECT_TRUE(Eventually(
      [&] {
        auto status = probe->CheckHealth();
        return status.ok() && *status == grpc::health::v1::HealthCheckResponse::NOT_SERVING;
      },
      absl::Seconds(10)))
      << ServerLog();
  // The server is still alive and still holds its existing connection.
  EXPECT_TRUE(client->Recommend(request).ok());

  for (int fd : idle_) close(fd);
  idle_.clear();
  // New connections are accepted again (a fresh client, so a fresh TCP
  // connection), and health returns once nothing was refused for a while.
  EXPECT_TRUE(Eventually(
      [&] {
        auto fresh = ClientOf(port_);
        return fresh != nullptr && fresh->Recommend(request).ok();
      },
      absl::Seconds(15)))
      << ServerLog();
  EXPECT_TRUE(Eventually(
      [&] {
        auto status = probe->CheckHealth();
        return status.ok() && *status == grpc::health::v1::HealthCheckResponse::SERVING;
      },
      absl::Seconds(15)))
      << ServerLog();
  EXPECT_NE(ServerLog().find("refusing connections on port"), std::string::npos);
  EXPECT_EQ(waitpid(pid_, nullptr, WNOHANG), 0) << "the server exited";
}

}  // namespace
}  // namespace easymoney
