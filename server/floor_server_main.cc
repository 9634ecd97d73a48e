// recommender-floor-server: the performance floor (see floor_service.h).
#include <csignal>
#include <cstdio>
#include <memory>
#include <string>

#include <grpcpp/server_builder.h>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "core/util/tool_flags.h"
#include "server/floor_service.h"
#include "server/server_settings.h"

ABSL_FLAG(std::string, host, "127.0.0.1", "Address to bind the gRPC port to.");
ABSL_FLAG(int, port, 50052, "gRPC port; 0 picks a free port (printed on stderr).");

int main(int argc, char** argv) {
  easymoney::ParseToolFlags(argc, argv,
      "The performance floor: serves easymoney.recommender.v1.Recommender/RecommendProducts with one\n"
      "constant response and no model work, with recommender-server's gRPC settings, so a load\n"
      "generator run against both measures what the model costs beyond gRPC (scripts/bench).\n"
      "Usage: recommender-floor-server [--host 127.0.0.1] [--port 50052]");
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  easymoney::FloorService service;
  grpc::ServerBuilder builder;
  easymoney::ApplyServerSettings(builder);
  int port = 0;
  const std::string address = absl::StrCat(absl::GetFlag(FLAGS_host), ":", absl::GetFlag(FLAGS_port));
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::fprintf(stderr, "recommender-floor-server: cannot listen on %s\n", address.c_str());
    return 1;
  }
  std::fprintf(stderr, "recommender-floor-server: gRPC on %s:%d (constant answers)\n",
               absl::GetFlag(FLAGS_host).c_str(), port);
  int signal = 0;
  sigwait(&signals, &signal);
  server->Shutdown();
  return 0;
}
