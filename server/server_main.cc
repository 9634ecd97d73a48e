// recommender-server: serves top-N product recommendations over gRPC.

#include <csignal>
#include <cstdio>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "core/tool_flags.h"
#include "server/recommender_server.h"

ABSL_FLAG(std::string, model_base, "models", "Directory of model versions (MODEL_BASE/<version>/).");
ABSL_FLAG(std::string, host, "127.0.0.1", "Address to bind the gRPC port to.");
ABSL_FLAG(int, port, 50051, "gRPC port; 0 picks a free port.");
ABSL_FLAG(std::string, metrics_host, "127.0.0.1", "Address to bind the metrics port to.");
ABSL_FLAG(int, metrics_port, 9464, "Port for Prometheus /metrics; 0 picks a free port.");
ABSL_FLAG(absl::Duration, poll_interval, absl::Seconds(1),
          "How often to look for new model versions and routing.json changes (e.g. 1s, 500ms; 0 disables).");
ABSL_FLAG(std::string, version_policy, "latest",
          "Which version is stable when routing.json names none: 'latest' (newest valid) or 'pinned:<version>'.");
ABSL_FLAG(int, keep_previous, 1, "Previous stable versions kept loaded for instant rollback.");
ABSL_FLAG(std::string, event_log_dir, "",
          "Directory of the durable event log (feedback and served answers, docs/kpis.md); empty: no log, and "
          "ReportFeedback is refused.");
ABSL_FLAG(double, served_log_sample, 1.0, "Share of RecommendProducts answers written to the event log (0..1).");
ABSL_FLAG(int64_t, event_log_segment_bytes, int64_t{64} << 20, "Rotate event-log segments at this size.");
ABSL_FLAG(std::string, audit_log, "", "Append ModelAdmin actions to this file (JSON lines); empty: stderr.");

namespace {

// Runs the server until SIGINT or SIGTERM, then shuts down gracefully.
int RunServer() {
  easymoney::RecommenderServer::Options options;
  options.model_base = absl::GetFlag(FLAGS_model_base);
  options.grpc_address = absl::StrCat(absl::GetFlag(FLAGS_host), ":", absl::GetFlag(FLAGS_port));
  options.metrics_address =
      absl::StrCat(absl::GetFlag(FLAGS_metrics_host), ":", absl::GetFlag(FLAGS_metrics_port));
  options.poll_interval = absl::GetFlag(FLAGS_poll_interval);
  options.version_policy = absl::GetFlag(FLAGS_version_policy);
  options.keep_previous = absl::GetFlag(FLAGS_keep_previous);
  options.audit_log_path = absl::GetFlag(FLAGS_audit_log);
  options.event_log_dir = absl::GetFlag(FLAGS_event_log_dir);
  options.served_log_sample = absl::GetFlag(FLAGS_served_log_sample);
  options.event_log_segment_bytes = absl::GetFlag(FLAGS_event_log_segment_bytes);
  if (!(options.served_log_sample >= 0 && options.served_log_sample <= 1)) {
    std::fprintf(stderr, "recommender-server: --served-log-sample must be in [0, 1]\n");
    return 2;
  }

  // Block the signals in every thread, then wait for them on one thread.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto server = easymoney::RecommenderServer::Create(options);
  if (!server.ok()) {
    std::fprintf(stderr, "recommender-server: %s\n", std::string(server.status().message()).c_str());
    return 1;
  }
  std::fprintf(stderr, "recommender-server: gRPC on %s:%d, metrics on http://%s:%d/metrics, model base %s\n",
               absl::GetFlag(FLAGS_host).c_str(), (*server)->port(), absl::GetFlag(FLAGS_metrics_host).c_str(),
               (*server)->metrics_port(), options.model_base.c_str());
  std::fprintf(stderr, "recommender-server: status page http://%s:%d/status\n",
               absl::GetFlag(FLAGS_metrics_host).c_str(), (*server)->metrics_port());
  if ((*server)->CurrentModel() == nullptr) {
    std::fprintf(stderr, "recommender-server: no valid model version yet; answering UNAVAILABLE until one appears\n");
  }
  int signal = 0;
  sigwait(&signals, &signal);
  std::fprintf(stderr, "recommender-server: signal %d, shutting down\n", signal);
  (*server)->Shutdown();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  easymoney::ParseToolFlags(argc, argv,
      "Serves easyMoney product recommendations over gRPC.\n"
      "Usage: recommender-server [--model-base models] [--port 50051] [--metrics-port 9464]\n"
      "Serves the version that MODEL_BASE/routing.json (or the ModelAdmin API) names as stable, else\n"
      "the --version-policy's (default: the newest valid version, picked up as new ones appear), plus\n"
      "an optional canary for a share of customers. Prometheus metrics at\n"
      "http://METRICS_HOST:METRICS_PORT/metrics. See docs/operations.md.\n"
      "Flag names accept '-' or '_'.");
  return RunServer();
}
