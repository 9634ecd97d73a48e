// Clients that connect and then do nothing, or trickle their bytes, against
// a real server's ports: none of them may take the server's monitoring or
// answers away from everyone else (docs/reliability.md, "Hostile use: classes tried").

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/security/credentials.h>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "server/protobuf_log.h"
#include "core/model/model_directory.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/recommender_server.h"
#include "tests/testing/loopback_server.h"
#include "tests/testing/test_model.h"

namespace easymoney {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// An open TCP connection to a loopback port, closed with the object.
class Connection {
 public:
  explicit Connection(int port) : fd_(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = fd_ >= 0 && connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  }
  ~Connection() {
    if (fd_ >= 0) close(fd_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  bool connected() const { return connected_; }
  bool Send(const std::string& bytes) {
    return write(fd_, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size());
  }
  // Everything the peer sends until it closes or `patience` passes.
  std::string ReadAll(std::chrono::milliseconds patience) {
    std::string received;
    const auto deadline = std::chrono::steady_clock::now() + patience;
    char buffer[8192];
    while (true) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd ready{fd_, POLLIN, 0};
      if (poll(&ready, 1, static_cast<int>(left.count())) <= 0) break;
      const ssize_t got = read(fd_, buffer, sizeof(buffer));
      if (got <= 0) break;
      received.append(buffer, static_cast<size_t>(got));
    }
    return received;
  }

 private:
  const int fd_;
  bool connected_ = false;
};

class HostileClientsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("hostile");
    testing::TestModel model = testing::MakeTestModel();
    ASSERT_TRUE(WriteModelVersion(dir_ + "/models", model.manifest, model.arrays).ok());
    auto server = RecommenderServer::Create(testing::LoopbackServerOptions(dir_ + "/models", dir_ + "/audit.log"));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  // GET `path` from the metrics port, giving up after a scrape timeout
  // (Prometheus' default is 10 s; a prompt answer takes milliseconds).
  std::string Scrape(const std::string& path) {
    Connection connection(server_->metrics_port());
    if (!connection.connected()) return "ERROR: connect";
    connection.Send("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    return connection.ReadAll(std::chrono::seconds(5));
  }

  std::string dir_;
  std::unique_ptr<RecommenderServer> server_;
};

// With civetweb's defaults one idle connection held the metrics port's only
// worker for 30 s, and the same with 50. Now idle connections, and ones that
// send half a request and stop, leave the scrapes answered.
TEST_F(HostileClientsTest, ScrapesStayPromptWithIdleAndStalledConnections) {
  std::vector<std::unique_ptr<Connection>> hostile;
  for (int i = 0; i < 50; ++i) {
    hostile.push_back(std::make_unique<Connection>(server_->metrics_port()));
    ASSERT_TRUE(hostile.back()->connected());
  }
  for (int i = 0; i < 10; ++i) {
    auto stalled = std::make_unique<Connection>(server_->metrics_port());
    ASSERT_TRUE(stalled->connected());
    stalled->Send("GET /metr");
    hostile.push_back(std::move(stalled));
  }
  for (const char* path : {"/metrics", "/status"}) {
    const std::string response = Scrape(path);
    EXPECT_THAT(response, StartsWith("HTTP/1.1 200")) << path;
  }
  EXPECT_THAT(Scrape("/metrics"), HasSubstr("recommender_model_info"));
}

// Idle connections are closed once the request timeout passes, so they do
// not hold a worker (or a descriptor) for long.
TEST_F(HostileClientsTest, TheMetricsPortClosesConnectionsThatSendNothing) {
  Connection idle(server_->metrics_port());
  ASSERT_TRUE(idle.connected());
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(idle.ReadAll(std::chrono::seconds(20)).find("200"), std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20)) << "still open after 20 s";
}

// Request bytes gRPC cannot decode (here a customer_id that is not UTF-8)
// never reach a handler, but libprotobuf logged one line for each: 2,000
// calls added 504 KB to stderr. Now every one is counted and few printed.
TEST_F(HostileClientsTest, UndecodableRequestsAreCountedAndLoggedSparingly) {
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()), grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);
  // Field 1 (customer_id), length 2, bytes 0xff 0xfe.
  const std::string undecodable("\x0a\x02\xff\xfe", 4);
  const int64_t lines_before = ProtobufLogLines();
  // stderr into a file for the duration of the calls.
  const std::string captured = dir_ + "/stderr";
  fflush(stderr);
  const int saved = dup(2);
  const int file = open(captured.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(file, 0);
  dup2(file, 2);
  int refused = 0;
  for (int i = 0; i < 500; ++i) {
    grpc::ClientContext context;
    const grpc::Slice slice(undecodable);
    grpc::ByteBuffer request(&slice, 1);
    grpc::ByteBuffer response;
    absl::Notification done;
    grpc::Status status;
    stub.UnaryCall(&context, "/easymoney.recommender.v1.Recommender/RecommendProducts", grpc::StubOptions(),
                   &request, &response, [&](grpc::Status s) {
                     status = s;
                     done.Notify();
                   });
    done.WaitForNotification();
    refused += status.ok() ? 0 : 1;
  }
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  close(file);
  EXPECT_EQ(refused, 500);
  EXPECT_GE(ProtobufLogLines() - lines_before, 500);
  std::ifstream in(captured);
  int printed = 0;
  for (std::string line; std::getline(in, line);) printed += line.find("libprotobuf") != std::string::npos;
  EXPECT_LE(printed, 2) << "lines printed for 500 undecodable calls";
  // The server still answers, and the count is on /metrics.
  std::string metrics;
  for (const absl::Time until = absl::Now() + absl::Seconds(5); absl::Now() < until;) {
    metrics = Scrape("/metrics");
    if (metrics.find("recommender_protobuf_log_lines_total 0") == std::string::npos &&
        metrics.find("recommender_protobuf_log_lines_total") != std::string::npos) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_THAT(metrics, HasSubstr("recommender_protobuf_log_lines_total"));
  EXPECT_EQ(metrics.find("recommender_protobuf_log_lines_total 0\n"), std::string::npos);
}

}  // namespace
}  // namespace easymoney
