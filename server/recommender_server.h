#ifndef EASYMONEY_SERVER_RECOMMENDER_SERVER_H_
#define EASYMONEY_SERVER_RECOMMENDER_SERVER_H_

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/server.h>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/auth/access_tokens.h"
#include "core/auth/audit_log.h"
#include "core/auth/secret_file.h"
#include "core/auth/signing_keys.h"
#include "core/serving/admission.h"
#include "core/serving/canary_analysis.h"
#include "core/serving/cpu_shed_controller.h"
#include "core/serving/model_manager.h"
#include "server/call_authorizer.h"
#include "server/connect_service.h"
#include "server/connection_listener.h"
#include "server/http_server.h"
#include "server/model_admin_service.h"
#include "server/recommender_service.h"
#include "server/server_metrics.h"
#include "server/transport_security.h"

namespace easymoney {

// The whole recommender-server minus main(): gRPC server with the
// Recommender, health and reflection services, the model manager that keeps
// the newest valid version published, and the /metrics endpoint. Tests run
// it in-process on port 0.
//
//   RecommenderServer::Options options;
//   options.model_base = "models";
//   auto server = RecommenderServer::Create(options);
//   (*server)->Wait();
//
// Thread-safe.
class RecommenderServer {
 public:
  struct Options {
    std::string model_base = "models";
    // host:port for gRPC; port 0 picks a free one (see port()).
    std::string grpc_address = "127.0.0.1:50051";
    // host:port for /metrics; port 0 picks a free one.
    std::string metrics_address = "127.0.0.1:9464";
    absl::Duration poll_interval = absl::Seconds(1);
    // "latest" or "pinned:<version>".
    std::string version_policy = "latest";
    // ModelManager::Options::fleet_routing_source: where the fleet's
    // routing lives when the model base is a mirror; empty: the model base.
    std::string fleet_routing_source;
    // Previous stable versions kept loaded for instant rollback.
    int keep_previous = 1;
    // Map the per-customer arrays of each version from their files instead
    // of copying them into memory (see ModelLoadOptions): only for files
    // nothing changes in place, since a truncated mapped file is SIGBUS.
    bool map_model_arrays = false;
    // Audit log of ModelAdmin calls; empty writes the records to stderr.
    std::string audit_log_path;
    // Event log directory (feedback and served answers); empty: no event
    // log, and ReportFeedback answers FAILED_PRECONDITION.
    std::string event_log_dir;
    // Share of RecommendProducts answers written to the event log.
    double served_log_sample = 1.0;
    int64_t event_log_segment_bytes = int64_t{64} << 20;
    // The keys that sign request ids (core/auth/signing_keys.h), shared by
    // every replica and re-read when the file changes; empty: a random key
    // of this process (feedback is then accepted only here, until restart).
    std::string feedback_key_file;
    // How old an answer feedback may still be about.
    absl::Duration feedback_window = absl::Hours(24 * 30);
    // TLS on the gRPC port; nullopt serves plaintext. (The binary insists
    // on --plaintext for that; this library default suits in-process tests.)
    std::optional<TlsSettings> tls;
    // Bearer-token file (access_tokens.h), re-read when it changes; empty:
    // no authentication (the binary insists on --allow-unauthenticated).
    std::string auth_token_file;
    // host:port of the Connect port (JSON and binary protobuf over HTTP/1.1,
    // connect_service.h), with the gRPC port's TLS and tokens; empty: none.
    // Port 0 picks a free one (see http_port()).
    std::string http_address;
    // At most this many HTTP connections at once (more are closed on
    // accept), and this many from one address; closed after
    // `http_idle_timeout` without a byte.
    int http_max_connections = 1024;
    int http_max_connections_per_ip = 256;
    absl::Duration http_idle_timeout = absl::Seconds(30);
    int http_threads = 2;
    // host:port of a plaintext port serving only grpc.health.v1 (for probes
    // inside the container); empty: none. Port 0 picks a free one.
    std::string health_address;
    // Recommender calls in flight beyond which new ones are shed with
    // RESOURCE_EXHAUSTED, once the count has stayed at the limit for
    // `overload_grace`; 0: no limit.
    int max_in_flight = 0;
    absl::Duration overload_grace = absl::Milliseconds(100);
    // Shed a share of new calls while the CPU is saturated by the handlers'
    // work (core/serving/cpu_shed_controller.h), sampled every `cpu_shed_interval`.
    // Off by default here; the binary turns it on.
    bool shed_on_cpu_saturation = false;
    CpuShedController::Options cpu_shed;
    absl::Duration cpu_shed_interval = absl::Milliseconds(100);
  };

  // Starts serving. The health status is NOT_SERVING until a model version
  // is published. Errors: UNAVAILABLE when a port cannot be bound; the TLS
  // and token-file errors of TlsServerCredentialsFor and
  // AccessTokenFile::Open.
  static absl::StatusOr<std::unique_ptr<RecommenderServer>> Create(const Options& options);
  ~RecommenderServer();

  int port() const { return port_; }
  int health_port() const { return health_port_; }
  int http_port() const { return http_server_ != nullptr ? http_server_->port() : 0; }
  int metrics_port() const { return metrics_->port(); }
  // Serving stable version, or null.
  std::shared_ptr<const Model> CurrentModel() const {
    const auto serving = models_->Current();
    return serving ? serving->stable : nullptr;
  }
  ModelManager& models() { return *models_; }

  // Blocks until Shutdown() is called from another thread.
  void Wait();
  // The first step of a graceful stop: health answers NOT_SERVING from now
  // on (so load balancers and readiness probes send no new calls here),
  // while calls are still answered as before.
  void StartDrain();
  // Stops accepting RPCs, lets running ones finish within `grace`.
  void Shutdown(absl::Duration grace = absl::Seconds(5));
  // SIGHUP's meaning: look for new model versions and routing now rather
  // than at the next poll (on the poll thread), and re-read the token and
  // feedback key files.
  void Reload();

 private:
  RecommenderServer() = default;
  // What a publication changes beside the snapshot itself (the snapshot's
  // metric handles are its attachment): the versions feedback may name,
  // the model-info gauges, the canary window, health.
  void OnPublish(const std::shared_ptr<const ServingSet>& serving);

  // Once a second: updates the drift and in-flight gauges, the cluster
  // reassignment share after a stable swap, re-reads the token file if it
  // changed, and runs automatic canary analysis while a rollout has it on;
  // once a minute re-reads the certificate's expiry.
  void AnalysisLoop();
  // After the stable version changed: the share of customers in another
  // cluster than before (a merge join, ~10 ms per million customers, so on
  // this thread rather than in the publication).
  void UpdateReassignedShare(const ServingSet& serving);
  // Re-reads MODEL_BASE/realised_quality.json when it changed and exports
  // the serving versions' newest measurements (analysis thread only).
  void UpdateRealisedQuality(const ServingSet& serving);
  // Every cpu_shed_interval while CPU shedding is on: measures the window's
  // CPU utilisation and handler work share and feeds the controller.
  void CpuShedLoop(absl::Duration interval);
  void AnalyseCanary(const ServingSet& serving);
  void ReloadTokens();
  void ReloadSigningKeys();
  // Reads certificate_file_'s expiry into the metrics; logs a failure.
  void UpdateCertificateExpiry();
  // Health status on the main port and the health port; never SERVING
  // again once draining (the check and the change under one lock, so a
  // publication racing with StartDrain cannot turn health back on).
  // SERVING needs a published model, no drain, and a main port that has
  // not refused a connection for lack of descriptors in the last few
  // seconds (a replica that cannot take new connections should leave the
  // load balancer's rotation until it can).
  void SetServing(bool serving) ABSL_LOCKS_EXCLUDED(health_mu_);
  void SetRefusingConnections(bool refusing) ABSL_LOCKS_EXCLUDED(health_mu_);
  void UpdateHealthLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(health_mu_);
  void SetServingLocked(bool serving) ABSL_EXCLUSIVE_LOCKS_REQUIRED(health_mu_);
  absl::Mutex health_mu_;
  bool draining_ ABSL_GUARDED_BY(health_mu_) = false;
  bool published_ ABSL_GUARDED_BY(health_mu_) = false;
  bool refusing_connections_ ABSL_GUARDED_BY(health_mu_) = false;
  // The stable version the reassignment share was last computed for. Only
  // the analysis thread touches it.
  std::shared_ptr<const Model> compared_stable_;

  std::unique_ptr<ServerMetrics> metrics_;
  WindowStats window_;
  std::atomic<int64_t> analysed_canary_{0};  // Canary whose window window_ holds.
  absl::Mutex analysis_mu_;
  bool stopping_ ABSL_GUARDED_BY(analysis_mu_) = false;
  std::thread analysis_thread_;
  std::unique_ptr<CpuShedController> cpu_shed_;  // Null: CPU shedding off.
  std::thread cpu_shed_thread_;
  std::unique_ptr<Admission> admission_;
  std::unique_ptr<EventLog> event_log_;
  std::unique_ptr<SigningKeyFile> signing_keys_;  // Null: a random key of this process.
  std::unique_ptr<RequestIdSigner> request_ids_;
  std::unique_ptr<FeedbackRecorder> feedback_;
  std::unique_ptr<AccessTokenFile> tokens_;  // Null: no authentication.
  std::string certificate_file_;             // Empty: plaintext.
  absl::Duration tls_refresh_interval_ = absl::Minutes(1);
  absl::Time next_http_tls_check_;  // Analysis thread only.
  std::string fleet_routing_source_;         // Empty: the model base is the routing's source.
  std::string model_base_;
  // realised_quality.json as last read, and for which serving versions it
  // was exported. Only the analysis thread touches them.
  FileStamp realised_stamp_;
  easymoney::model::v1::RealisedQuality realised_;
  std::vector<int64_t> realised_versions_;
  std::unique_ptr<CallAuthorizer> authorizer_;
  std::unique_ptr<RecommenderCalls> calls_;
  std::unique_ptr<RecommenderService> service_;
  std::unique_ptr<ConnectService> connect_service_;
  std::unique_ptr<HttpServer> http_server_;
  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<ModelAdminService> admin_service_;
  // Accept the connections of grpc_server_ and health_server_
  // (connection_listener.h says why gRPC's own listener is not used).
  std::unique_ptr<ConnectionListener> listener_;
  std::unique_ptr<ConnectionListener> health_listener_;
  std::unique_ptr<grpc::Server> grpc_server_;
  std::unique_ptr<grpc::Server> health_server_;
  int health_port_ = 0;
  std::unique_ptr<ModelManager> models_;
  int port_ = 0;
};

}  // namespace easymoney

#endif  // EASYMONEY_SERVER_RECOMMENDER_SERVER_H_
