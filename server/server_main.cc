// recommender-server: serves top-N product recommendations over gRPC.

#include <malloc.h>
#include <sys/resource.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/util/tool_flags.h"
#include "server/recommender_server.h"

ABSL_FLAG(std::string, model_base, "models", "Directory of model versions (MODEL_BASE/<version>/).");
ABSL_FLAG(std::string, host, "127.0.0.1", "Address to bind the gRPC port to.");
ABSL_FLAG(int, port, 50051, "gRPC port; 0 picks a free port.");
ABSL_FLAG(int, http_port, -1,
          "Port for the Recommender calls as JSON or binary protobuf over HTTP/1.1 in the Connect protocol "
          "(POST /easymoney.recommender.v1.Recommender/<Method>; docs/api.md), on --host with the gRPC port's TLS "
          "and tokens; -1: off, 0 picks a free port.");
ABSL_FLAG(int, http_max_connections, 1024,
          "HTTP connections served at once (more are closed on accept; at most a quarter of the descriptor limit).");
ABSL_FLAG(int, http_max_connections_per_ip, 256, "HTTP connections served at once from one client address.");
ABSL_FLAG(absl::Duration, http_idle_timeout, absl::Seconds(30),
          "An HTTP connection that sends or reads nothing for this long is closed.");
ABSL_FLAG(std::string, metrics_host, "127.0.0.1", "Address to bind the metrics port to.");
ABSL_FLAG(int, metrics_port, 9464, "Port for Prometheus /metrics; 0 picks a free port.");
ABSL_FLAG(absl::Duration, poll_interval, absl::Seconds(1),
          "How often to look for new model versions and routing.json changes (e.g. 1s, 500ms; 0 disables).");
ABSL_FLAG(std::string, version_policy, "latest",
          "Which version is stable when routing.json names none: 'latest' (newest valid) or 'pinned:<version>'.");
ABSL_FLAG(int, keep_previous, 1, "Previous stable versions kept loaded for instant rollback.");
ABSL_FLAG(bool, map_model_arrays, false,
          "Map each version's per-customer arrays from their files instead of reading them into memory (a "
          "10M-customer version loads faster and its arrays live in the page cache). Only for a model base whose "
          "files nothing changes in place: a mapped file truncated or overwritten under the server (cp or "
          "rsync --inplace over it, a full disk) ends the process with SIGBUS. Off, the arrays are copied and "
          "nothing done to the files can harm the versions in memory.");
ABSL_FLAG(std::string, event_log_dir, "",
          "Directory of the durable event log (feedback and served answers, docs/kpis.md); empty: no log, and "
          "ReportFeedback is refused.");
ABSL_FLAG(double, served_log_sample, 1.0, "Share of RecommendProducts answers written to the event log (0..1).");
ABSL_FLAG(int64_t, event_log_segment_bytes, int64_t{64} << 20, "Rotate event-log segments at this size.");
ABSL_FLAG(std::string, fleet_routing_source, "",
          "Where the fleet's routing.json is changed when --model-base is a mirror of shared storage (e.g. "
          "\"recommender-models:/routing.json\"): ModelAdmin routing changes on this replica are then refused with "
          "FAILED_PRECONDITION naming it, and its own canary analysis never ends a rollout. Empty: --model-base is "
          "the source (one server, or replicas sharing the directory), and changes are written there.");
ABSL_FLAG(std::string, feedback_key_file, "",
          "Keys that sign the request id of every answer, so ReportFeedback accepts only feedback about answers "
          "this service gave (lines \"KEY_ID HEX_SECRET\", the first signs, all verify; re-read when it changes; "
          "docs/operations.md). Give every replica the same file (a Kubernetes Secret). Empty: a random key of this "
          "process, so feedback is accepted only by the replica that answered, until it restarts.");
ABSL_FLAG(absl::Duration, feedback_window, absl::Hours(24 * 30),
          "How old an answer ReportFeedback may still be about; older feedback is refused.");
ABSL_FLAG(std::string, audit_log, "", "Append ModelAdmin actions to this file (JSON lines); empty: stderr.");
ABSL_FLAG(std::string, tls_cert_file, "", "TLS certificate chain (PEM) of the gRPC port; re-read when it changes.");
ABSL_FLAG(std::string, tls_key_file, "", "Private key (PEM) of --tls-cert-file.");
ABSL_FLAG(std::string, tls_client_ca_file, "",
          "Mutual TLS: require client certificates signed by this CA bundle (PEM).");
ABSL_FLAG(absl::Duration, tls_refresh_interval, absl::Minutes(1), "How often the TLS files are re-read.");
ABSL_FLAG(bool, plaintext, false,
          "Serve gRPC without TLS. Only for loopback development: without it the server refuses to start "
          "unless --tls-cert-file and --tls-key-file are given.");
ABSL_FLAG(std::string, auth_token_file, "",
          "Bearer tokens (hashed; `recommender-cli token new` makes them) with their roles, re-read when it "
          "changes. Missing or unknown token: UNAUTHENTICATED; wrong role: PERMISSION_DENIED.");
ABSL_FLAG(bool, allow_unauthenticated, false,
          "Serve without bearer tokens (every caller may do everything). Without it the server refuses to "
          "start unless --auth-token-file is given.");
ABSL_FLAG(std::string, health_address, "",
          "host:port of a plaintext port serving only grpc.health.v1, for probes inside the container "
          "(e.g. 127.0.0.1:50052); empty: none. The main port answers health checks too.");
ABSL_FLAG(int, max_in_flight, 1024,
          "Recommender calls in flight (handler start to response sent) beyond which new ones get "
          "RESOURCE_EXHAUSTED at once, when the count has stayed at the limit for --overload-grace (0: no limit).");
ABSL_FLAG(absl::Duration, overload_grace, absl::Milliseconds(100),
          "How long the in-flight count may stay at --max-in-flight (a burst) before calls are shed.");
ABSL_FLAG(absl::Duration, drain_period, absl::Seconds(10),
          "After SIGTERM: how long health answers NOT_SERVING while calls are still answered, so load balancers "
          "move away before the port closes. With --shutdown-grace it must fit in the pod's "
          "terminationGracePeriodSeconds (30 s in deploy/k8s).");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(15),
          "After the drain: how long calls in flight may take to finish before they are cancelled.");
ABSL_FLAG(bool, shed_on_cpu_saturation, true,
          "When the server's CPU (its affinity and cgroup quota) reaches --cpu-shed-target and the handler's "
          "work is at least half of what an answer costs, refuse with RESOURCE_EXHAUSTED the share of new calls "
          "(up to 90%) that the CPU cannot afford to answer, so the queue ahead of the handlers drains instead of "
          "growing to the callers' deadlines.");
ABSL_FLAG(double, cpu_shed_target, 0.9,
          "With --shed-on-cpu-saturation: the share of the server's CPU answers may use before calls are refused "
          "(0.5 to 0.99).");

namespace {

// Every connection holds a descriptor, and a soft limit (often 1024) far
// below the hard one lets a few idle connections exhaust it: raise it to the
// hard limit the administrator set.
void RaiseDescriptorLimit() {
  rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  const rlim_t before = limit.rlim_cur;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0) limit.rlim_cur = before;
  }
  std::fprintf(stderr, "recommender-server: descriptor limit %llu (was %llu)\n",
               static_cast<unsigned long long>(limit.rlim_cur), static_cast<unsigned long long>(before));
}

// Waits for SIGINT or SIGTERM. SIGHUP meanwhile rescans the model base and
// re-reads the token file; SIGUSR1 and SIGUSR2 mean nothing and are logged.
void WaitForStopSignal(const sigset_t& signals, easymoney::RecommenderServer& server) {
  while (true) {
    int signal = 0;
    if (sigwait(&signals, &signal) != 0) continue;
    switch (signal) {
      case SIGINT:
      case SIGTERM:
        std::fprintf(stderr, "recommender-server: signal %d (%s)\n", signal, strsignal(signal));
        return;
      case SIGHUP:
        std::fprintf(stderr, "recommender-server: SIGHUP: rescanning the model base and re-reading the token and feedback key files\n");
        server.Reload();
        break;
      default:
        std::fprintf(stderr, "recommender-server: signal %d (%s) has no meaning here; ignored\n", signal,
                     strsignal(signal));
    }
  }
}

// Runs the server until SIGINT or SIGTERM, then drains and shuts down.
int RunServer() {
  easymoney::RecommenderServer::Options options;
  options.model_base = absl::GetFlag(FLAGS_model_base);
  options.grpc_address = absl::StrCat(absl::GetFlag(FLAGS_host), ":", absl::GetFlag(FLAGS_port));
  options.metrics_address =
      absl::StrCat(absl::GetFlag(FLAGS_metrics_host), ":", absl::GetFlag(FLAGS_metrics_port));
  options.poll_interval = absl::GetFlag(FLAGS_poll_interval);
  options.version_policy = absl::GetFlag(FLAGS_version_policy);
  options.keep_previous = absl::GetFlag(FLAGS_keep_previous);
  options.shed_on_cpu_saturation = absl::GetFlag(FLAGS_shed_on_cpu_saturation);
  options.cpu_shed.target_utilisation = absl::GetFlag(FLAGS_cpu_shed_target);
  options.map_model_arrays = absl::GetFlag(FLAGS_map_model_arrays);
  options.audit_log_path = absl::GetFlag(FLAGS_audit_log);
  options.event_log_dir = absl::GetFlag(FLAGS_event_log_dir);
  options.served_log_sample = absl::GetFlag(FLAGS_served_log_sample);
  options.event_log_segment_bytes = absl::GetFlag(FLAGS_event_log_segment_bytes);
  options.feedback_key_file = absl::GetFlag(FLAGS_feedback_key_file);
  options.fleet_routing_source = absl::GetFlag(FLAGS_fleet_routing_source);
  options.feedback_window = absl::GetFlag(FLAGS_feedback_window);
  options.auth_token_file = absl::GetFlag(FLAGS_auth_token_file);
  options.max_in_flight = absl::GetFlag(FLAGS_max_in_flight);
  options.overload_grace = absl::GetFlag(FLAGS_overload_grace);
  options.health_address = absl::GetFlag(FLAGS_health_address);
  if (const int http_port = absl::GetFlag(FLAGS_http_port); http_port >= 0) {
    options.http_address = absl::StrCat(absl::GetFlag(FLAGS_host), ":", http_port);
  }
  options.http_max_connections = absl::GetFlag(FLAGS_http_max_connections);
  options.http_max_connections_per_ip = absl::GetFlag(FLAGS_http_max_connections_per_ip);
  options.http_idle_timeout = absl::GetFlag(FLAGS_http_idle_timeout);
  const bool plaintext = absl::GetFlag(FLAGS_plaintext);
  const std::string cert = absl::GetFlag(FLAGS_tls_cert_file);
  if (plaintext && !cert.empty()) {
    std::fprintf(stderr, "recommender-server: --plaintext and --tls-cert-file contradict each other\n");
    return 2;
  }
  if (!plaintext) {
    if (cert.empty() || absl::GetFlag(FLAGS_tls_key_file).empty()) {
      std::fprintf(stderr,
                   "recommender-server: no TLS certificate: give --tls-cert-file and --tls-key-file, or "
                   "--plaintext for loopback development\n");
      return 2;
    }
    options.tls = easymoney::TlsSettings{.cert_file = cert,
                                         .key_file = absl::GetFlag(FLAGS_tls_key_file),
                                         .client_ca_file = absl::GetFlag(FLAGS_tls_client_ca_file),
                                         .refresh_interval = absl::GetFlag(FLAGS_tls_refresh_interval)};
  } else if (!absl::GetFlag(FLAGS_tls_client_ca_file).empty()) {
    std::fprintf(stderr, "recommender-server: --tls-client-ca-file needs TLS (drop --plaintext)\n");
    return 2;
  }
  if (options.auth_token_file.empty() && !absl::GetFlag(FLAGS_allow_unauthenticated)) {
    std::fprintf(stderr,
                 "recommender-server: no --auth-token-file: give one, or --allow-unauthenticated for loopback "
                 "development\n");
    return 2;
  }
  if (!options.auth_token_file.empty() && absl::GetFlag(FLAGS_allow_unauthenticated)) {
    std::fprintf(stderr, "recommender-server: --auth-token-file and --allow-unauthenticated contradict each other\n");
    return 2;
  }
  if (options.max_in_flight < 0) {
    std::fprintf(stderr, "recommender-server: --max-in-flight must be >= 0\n");
    return 2;
  }
  if (const double target = absl::GetFlag(FLAGS_cpu_shed_target); !(target >= 0.5 && target <= 0.99)) {
    std::fprintf(stderr, "recommender-server: --cpu-shed-target must be in [0.5, 0.99], not %g\n", target);
    return 2;
  }
  if (!(options.served_log_sample >= 0 && options.served_log_sample <= 1)) {
    std::fprintf(stderr, "recommender-server: --served-log-sample must be in [0, 1]\n");
    return 2;
  }

  RaiseDescriptorLimit();

  // Block the signals in every thread, then wait for them on one thread.
  // Every signal the server gives a meaning is here; none ends the process
  // unannounced.
  sigset_t signals;
  sigemptyset(&signals);
  for (int handled : {SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2}) sigaddset(&signals, handled);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto server = easymoney::RecommenderServer::Create(options);
  if (!server.ok()) {
    std::fprintf(stderr, "recommender-server: %s\n", std::string(server.status().message()).c_str());
    return 1;
  }
  std::fprintf(stderr, "recommender-server: gRPC on %s:%d, metrics on http://%s:%d/metrics, model base %s\n",
               absl::GetFlag(FLAGS_host).c_str(), (*server)->port(), absl::GetFlag(FLAGS_metrics_host).c_str(),
               (*server)->metrics_port(), options.model_base.c_str());
  std::fprintf(stderr, "recommender-server: gRPC transport %s, %s\n",
               plaintext ? "PLAINTEXT (development only)"
                         : (options.tls->client_ca_file.empty() ? "TLS" : "mutual TLS"),
               options.auth_token_file.empty() ? "NO AUTHENTICATION (development only)" : "bearer tokens");
  if ((*server)->http_port() != 0) {
    std::fprintf(stderr, "recommender-server: Connect (JSON and protobuf over HTTP) on %s://%s:%d\n",
                 plaintext ? "http" : "https", absl::GetFlag(FLAGS_host).c_str(), (*server)->http_port());
  }
  if (options.feedback_key_file.empty() && !options.event_log_dir.empty()) {
    std::fprintf(stderr,
                 "recommender-server: WARNING: no --feedback-key-file: request ids are signed with a random key of "
                 "this process, so feedback reaching another replica, or this one after a restart, is refused\n");
  }
  if ((*server)->health_port() != 0) {
    std::fprintf(stderr, "recommender-server: plaintext health checks on port %d\n", (*server)->health_port());
  }
  std::fprintf(stderr, "recommender-server: status page http://%s:%d/status\n",
               absl::GetFlag(FLAGS_metrics_host).c_str(), (*server)->metrics_port());
  if ((*server)->CurrentModel() == nullptr) {
    std::fprintf(stderr, "recommender-server: no valid model version yet; answering UNAVAILABLE until one appears\n");
  }
  WaitForStopSignal(signals, **server);
  // Draining: health says NOT_SERVING, so load balancers and the readiness
  // probe stop sending calls here, while those that still come (a balancer
  // not yet told) are answered. A second SIGTERM or SIGINT ends it early.
  const absl::Duration drain = absl::GetFlag(FLAGS_drain_period);
  const absl::Duration grace = absl::GetFlag(FLAGS_shutdown_grace);
  std::fprintf(stderr,
               "recommender-server: shutting down: health NOT_SERVING, still answering for %s (--drain-period), "
               "then up to %s for calls in flight (--shutdown-grace)\n",
               absl::FormatDuration(drain).c_str(), absl::FormatDuration(grace).c_str());
  (*server)->StartDrain();
  const absl::Time drain_end = absl::Now() + drain;
  while (absl::Now() < drain_end) {
    const timespec wait = absl::ToTimespec(drain_end - absl::Now());
    const int signal = sigtimedwait(&signals, nullptr, &wait);
    if (signal == SIGINT || signal == SIGTERM) {
      std::fprintf(stderr, "recommender-server: signal %d during the drain: stopping now\n", signal);
      break;
    }
    if (signal > 0) std::fprintf(stderr, "recommender-server: signal %d ignored while draining\n", signal);
  }
  (*server)->Shutdown(grace);
  std::fprintf(stderr, "recommender-server: stopped\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Model arrays are megabytes each, allocated at a version's load and
  // freed at its retirement. glibc raises its mmap threshold after such a
  // free, so later arrays can come from the heap, whose pages stay resident.
  // A fixed threshold keeps every block over 1 MiB mmapped and returned to
  // the OS when freed. scripts/soak (a new version every 10 s): per-minute
  // RSS rose 38.7 -> 46.0 MiB without it, stayed within 36.3-42.5 with it.
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  easymoney::ParseToolFlags(argc, argv,
      "Serves easyMoney product recommendations over gRPC.\n"
      "Usage: recommender-server [--model-base models] [--port 50051] [--metrics-port 9464]\n"
      "         (--tls-cert-file F --tls-key-file F [--tls-client-ca-file F] | --plaintext)\n"
      "         (--auth-token-file F | --allow-unauthenticated)\n"
      "Serves the version that MODEL_BASE/routing.json (or the ModelAdmin API) names as stable, else\n"
      "the --version-policy's (default: the newest valid version, picked up as new ones appear), plus\n"
      "an optional canary for a share of customers. Prometheus metrics at\n"
      "http://METRICS_HOST:METRICS_PORT/metrics. See docs/operations.md.\n"
      "Flag names accept '-' or '_'.");
  return RunServer();
}
