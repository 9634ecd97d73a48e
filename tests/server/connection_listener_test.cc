// ConnectionListener in-process: the addresses it takes and refuses, and a
// real gRPC server behind it that keeps serving while connections beyond the
// descriptor bound are refused.
#include "server/connection_listener.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <vector>

#include <grpcpp/create_channel.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/testing/subprocess.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace easymoney {
namespace {

TEST(ConnectionListenerTest, RefusesAddressesItCannotParse) {
  for (const char* address : {"127.0.0.1", "127.0.0.1:port", "127.0.0.1:70000", "[::1", "[::1]50051"}) {
    auto listener = ConnectionListener::Bind({.address = address});
    EXPECT_EQ(listener.status().code(), absl::StatusCode::kInvalidArgument) << address;
  }
}

TEST(ConnectionListenerTest, PicksAFreePortAndRefusesASecondListenerOnIt) {
  auto first = ConnectionListener::Bind({.address = "127.0.0.1:0"});
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_GT((*first)->port(), 0);
  auto second = ConnectionListener::Bind({.address = absl::StrCat("127.0.0.1:", (*first)->port())});
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
}

TEST(ConnectionListenerTest, WildcardAddressTakesIpv4) {
  auto listener = ConnectionListener::Bind({.address = "0.0.0.0:0"});
  ASSERT_TRUE(listener.ok()) << listener.status();
  const int fd = testing::ConnectLoopback((*listener)->port());
  EXPECT_GE(fd, 0);
  if (fd >= 0) close(fd);
}

TEST(ConnectionListenerTest, ConnectionsBeyondTheBoundAreRefusedWhileTheOthersServe) {
  // Room for a few connections above the descriptors this process holds now.
  const int lowest_free = open("/dev/null", O_RDONLY | O_CLOEXEC);
  close(lowest_free);
  int refusals_seen = 0;
  auto listener = ConnectionListener::Bind(
      {.address = "127.0.0.1:0", .max_descriptors = lowest_free + 40, .on_refused = [&] { ++refusals_seen; }});
  ASSERT_TRUE(listener.ok()) << listener.status();
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  auto acceptor = builder.experimental().AddExternalConnectionAcceptor(
      grpc::ServerBuilder::experimental_type::ExternalConnectionType::FROM_FD, grpc::InsecureServerCredentials());
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  (*listener)->Start(std::move(acceptor));
  const std::string target = absl::StrCat("127.0.0.1:", (*listener)->port());

  auto check = [&](const std::shared_ptr<grpc::Channel>& channel) {
    auto stub = grpc::health::v1::Health::NewStub(channel);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
    grpc::health::v1::HealthCheckRequest request;
    grpc::health::v1::HealthCheckResponse response;
    return stub->Check(&context, request, &response);
  };
  auto early = grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
  ASSERT_TRUE(check(early).ok());

  std::vector<int> idle;
  for (int i = 0; i < 80; ++i) {
    const int fd = testing::ConnectLoopback((*listener)->port());
    if (fd >= 0) idle.push_back(fd);
  }
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while ((*listener)->refused() == 0 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(20));
  EXPECT_GT((*listener)->refused(), 0);
  EXPECT_TRUE((*listener)->RefusedRecently(absl::Seconds(30)));
  EXPECT_TRUE(check(early).ok()) << "a connection made before the flood stops serving";

  for (int fd : idle) close(fd);
  grpc::ChannelArguments fresh_arguments;
  fresh_arguments.SetInt("grpc.use_local_subchannel_pool", 1);  // Its own connection, not early's.
  bool served_again = false;
  for (int attempt = 0; attempt < 50 && !served_again; ++attempt) {
    auto fresh = grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), fresh_arguments);
    served_again = check(fresh).ok();
    if (!served_again) absl::SleepFor(absl::Milliseconds(200));
  }
  EXPECT_TRUE(served_again);
  server->Shutdown(std::chrono::system_clock::now());
  (*listener)->Stop();
  EXPECT_EQ(refusals_seen, (*listener)->refused());
}

}  // namespace
}  // namespace easymoney
