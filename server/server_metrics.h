#ifndef EASYMONEY_SERVER_SERVER_METRICS_H_
#define EASYMONEY_SERVER_SERVER_METRICS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include <grpcpp/support/status.h>
#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/synchronization/mutex.h"
#include "core/serving/canary_router.h"
#include "core/serving/feedback_recorder.h"
#include "core/serving/serving_set.h"
#include "core/model/model.h"
#include "easymoney/model/v1/quality.pb.h"
#include "server/sharded_histogram.h"

namespace easymoney {

inline constexpr int kNumGrpcCodes = 17;  // OK .. UNAUTHENTICATED.

// The wire a call came in on: the `protocol` label of the request metrics
// ("grpc", or "connect" for JSON and binary protobuf over HTTP).
enum class CallProtocol { kGrpc = 0, kConnect = 1 };
inline constexpr int kNumCallProtocols = 2;
// The /metrics and /status HTTP server: worker threads, and how long a
// connection may take to send its request before it is closed.
inline constexpr int kMetricsWorkerThreads = 64;
inline constexpr int kMetricsRequestTimeoutMs = 1000;
// Catalogues up to this size get a recommendations series per product;
// larger ones one series labelled product="(all)".
inline constexpr size_t kMaxProductSeries = 1000;

// The metric handles of one (model version, variant) pair for
// RecommendProducts: made once when the version is published, so a request
// only increments pre-resolved counters (no label lookup, no allocation).
struct VersionMetrics {
  // By CallProtocol.
  std::array<ShardedHistogramFamily::Series*, kNumCallProtocols> duration{};
  std::array<std::array<prometheus::Counter*, kNumGrpcCodes>, kNumCallProtocols> requests{};
  std::vector<prometheus::Counter*> recommendations;  // By catalogue index.
  // Answers for customers the version does not know, by strategy.
  enum ColdStart { kFoldIn = 0, kCluster = 1, kPopular = 2 };
  std::array<prometheus::Counter*, 3> cold_start{};

  // Drift: what the served traffic looked like, compared with training by
  // ServerMetrics::UpdateDrift. Relaxed atomic counters (no lock per
  // request); sized at publish.
  std::vector<double> training_cluster_shares;
  mutable std::vector<std::atomic<int64_t>> served_clusters;
  easymoney::model::v1::FeatureDistribution age_reference, salary_reference;
  mutable std::vector<std::atomic<int64_t>> cold_start_ages, cold_start_salaries;
  prometheus::Gauge* cluster_psi = nullptr;
  prometheus::Gauge* age_psi = nullptr;
  prometheus::Gauge* salary_psi = nullptr;

  void RecordRequest(CallProtocol protocol, grpc::StatusCode code, double seconds) const;
  void RecordCluster(int32_t cluster) const {
    if (cluster >= 0 && static_cast<size_t>(cluster) < served_clusters.size()) {
      served_clusters[static_cast<size_t>(cluster)].fetch_add(1, std::memory_order_relaxed);
    }
  }
  void RecordColdStartProfile(std::optional<double> age, std::optional<double> salary) const;
};

// Shadow-mode handles of one shadow version.
struct ShadowMetrics {
  prometheus::Counter* requests = nullptr;
  prometheus::Histogram* overlap = nullptr;  // |shadow top-N ∩ served top-N| / |served top-N|.
};

// The metric handles of one published ServingSet, attached to it by the
// model manager (ServingSet::attachment) so that a request finds the model
// and its counters in one snapshot. Immutable.
struct ServingSetMetrics final : ServingSetAttachment {
  // By Variant; the canary's is null without a rollout.
  std::array<std::shared_ptr<const VersionMetrics>, kNumVariants> variants;
  std::shared_ptr<const ShadowMetrics> shadow;  // Null without a shadow.
};

// The server's Prometheus metrics and their HTTP exposer. Request metrics
// carry model_version and variant labels so dashboards can compare a canary
// with the stable version; requests answered before any version loaded
// carry model_version="none", variant="none". No customer data in labels.
//
// Thread-safe. Handles stay valid for the ServerMetrics' lifetime.
class ServerMetrics {
 public:
  // Starts serving /metrics on `bind_address` ("127.0.0.1:9464"; port 0
  // picks a free port, see port()).
  static absl::StatusOr<std::unique_ptr<ServerMetrics>> Create(const std::string& bind_address);

  int port() const { return port_; }

  // Handles for `model` answering as `variant`, shared while any published
  // state holds them. When the last holder lets go (the version no longer
  // serves and its last request finished), its series are removed from
  // /metrics, so retraining often does not grow the exposition forever.
  std::shared_ptr<const VersionMetrics> ForVersion(const Model& model, Variant variant) ABSL_LOCKS_EXCLUDED(mu_);
  // Handles for requests that found no model.
  const VersionMetrics& without_model() const { return *without_model_; }

  // Sets recommender_model_info to 1 for the versions serving now (labelled
  // by variant) and to 0 for those that served before.
  void OnPublished(const Model& stable, const Model* canary) ABSL_LOCKS_EXCLUDED(mu_);
  void OnModelLoadFailed();
  // A loaded version's files changed on disk (it goes on serving).
  void OnModelFilesChanged() { model_files_changed_->Increment(); }
  // recommender_model_realised_map and _realised_popularity_map: the
  // newest measurement in `quality` of each version serving now (`serving`).
  void SetRealisedQuality(const easymoney::model::v1::RealisedQuality& quality, const std::vector<int64_t>& serving)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Feedback refused for `refusal` so far (FeedbackRecorder::refused).
  void SetFeedbackRefused(FeedbackRefusal refusal, int64_t total) ABSL_LOCKS_EXCLUDED(mu_);
  // A connection to `port` ("grpc" or "health") was refused because the
  // process held too many descriptors (server/connection_listener.h).
  void OnConnectionRefused(const char* port) {
    (std::string_view(port) == "health" ? connections_refused_health_ : connections_refused_grpc_)->Increment();
  }
  std::shared_ptr<const ShadowMetrics> ForShadow(const Model& shadow);
  // The handles of every version `serving` routes to.
  std::shared_ptr<const ServingSetMetrics> ForServingSet(const ServingSet& serving) ABSL_LOCKS_EXCLUDED(mu_);
  void OnAutoRollback() { auto_rollbacks_->Increment(); }
  // Recomputes the PSI gauges of `handles` from what it has served since it
  // was published (exported once enough requests were seen).
  void UpdateDrift(const VersionMetrics& handles);
  void SetClusterReassignedRatio(double ratio) { cluster_reassigned_->Set(ratio); }
  // libprotobuf's warnings and errors so far (server/protobuf_log.h).
  void SetProtobufLogLines(int64_t total) ABSL_LOCKS_EXCLUDED(mu_);
  // Routed versions that cannot serve (ModelManager's routing problems).
  void SetRoutingProblems(int problems) { routing_problems_->Set(problems); }
  // Counts one recorded feedback event, by (event, version, variant) and by
  // (event, product). Feedback arrives after its version may have stopped
  // serving, so these series are kept for every version that ever served
  // (6 per version) rather than removed with the version's other series.
  void RecordFeedback(FeedbackEvent event, int64_t version, Variant variant, const std::string& product)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Event log: lines appended by kind, group commits and their fsync time,
  // failed writes.
  void OnServedLogged() { served_logged_->Increment(); }
  void OnFeedbackLogged() { feedback_logged_->Increment(); }
  void OnEventLogCommit(double fsync_seconds) { event_log_fsync_->Observe(fsync_seconds); }
  void OnEventLogError() { event_log_errors_->Increment(); }
  // Counts one RecommendProductsBatch call (its items are counted as
  // RecommendProducts recommendations under their versions).
  void RecordBatch(CallProtocol protocol, grpc::StatusCode code, double seconds);
  // Counts one ReportFeedback call.
  void RecordFeedbackCall(CallProtocol protocol, grpc::StatusCode code, double seconds) {
    feedback_calls_->RecordRequest(protocol, code, seconds);
  }
  // Authentication: calls refused (reason: missing_token, unknown_token,
  // wrong_role; role: the one the method needs), token-file reloads and the
  // number of tokens in force.
  enum class AuthRefusal { kMissingToken = 0, kUnknownToken = 1, kWrongRole = 2 };
  void OnAuthRefused(AuthRefusal reason, bool admin_method) {
    auth_refusals_[static_cast<int>(reason) * 2 + (admin_method ? 1 : 0)]->Increment();
  }
  void OnTokenReload(bool accepted, int tokens);
  // Overload: calls refused with RESOURCE_EXHAUSTED before any work, and the
  // calls in flight (from handler start until their response is sent).
  void OnShed() { shed_->Increment(); }
  void SetInFlight(int64_t calls) { in_flight_->Set(static_cast<double>(calls)); }
  // The CPU shedding controller's inputs and outputs (sampled every 100 ms
  // while it runs), and the calls clients reported refusing locally.
  void SetCpuShedding(double utilisation, double work_share, double shed_share) {
    cpu_utilisation_->Set(utilisation);
    cpu_work_share_->Set(work_share);
    cpu_shed_share_->Set(shed_share);
  }
  // The gRPC port's certificate's notAfter. Without TLS never called, and
  // the series does not exist.
  void SetCertificateExpiry(absl::Time expiry);

 private:
  ServerMetrics() = default;
  // `model` is null for the handles of requests without a version.
  void MakeHandles(const std::string& version, const std::string& variant, const Model* model,
                   VersionMetrics& handles, const char* method = "RecommendProducts");

  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  int port_ = 0;
  std::shared_ptr<ShardedHistogramFamily> durations_;
  prometheus::Family<prometheus::Counter>* requests_ = nullptr;
  prometheus::Family<prometheus::Counter>* recommendations_ = nullptr;
  prometheus::Family<prometheus::Gauge>* model_info_ = nullptr;
  prometheus::Gauge* model_customers_ = nullptr;
  prometheus::Gauge* model_loaded_timestamp_ = nullptr;
  prometheus::Counter* load_failures_ = nullptr;
  prometheus::Counter* auto_rollbacks_ = nullptr;
  prometheus::Family<prometheus::Counter>* shadow_requests_ = nullptr;
  prometheus::Family<prometheus::Histogram>* shadow_overlap_ = nullptr;
  prometheus::Family<prometheus::Counter>* cold_start_ = nullptr;
  prometheus::Family<prometheus::Counter>* feedback_ = nullptr;
  prometheus::Family<prometheus::Counter>* feedback_products_ = nullptr;
  prometheus::Family<prometheus::Gauge>* cluster_psi_ = nullptr;
  prometheus::Family<prometheus::Gauge>* feature_psi_ = nullptr;
  prometheus::Family<prometheus::Gauge>* trained_timestamp_ = nullptr;
  prometheus::Family<prometheus::Gauge>* backtest_map_ = nullptr;
  std::vector<prometheus::Gauge*> backtest_ ABSL_GUARDED_BY(mu_);
  prometheus::Family<prometheus::Gauge>* realised_map_ = nullptr;
  prometheus::Family<prometheus::Gauge>* realised_popularity_map_ = nullptr;
  std::vector<prometheus::Gauge*> realised_ ABSL_GUARDED_BY(mu_);
  std::vector<prometheus::Gauge*> realised_popularity_ ABSL_GUARDED_BY(mu_);
  prometheus::Gauge* cluster_reassigned_ = nullptr;
  prometheus::Counter* served_logged_ = nullptr;
  prometheus::Counter* feedback_logged_ = nullptr;
  prometheus::Histogram* event_log_fsync_ = nullptr;
  prometheus::Counter* event_log_errors_ = nullptr;
  std::array<prometheus::Counter*, 6> auth_refusals_{};
  prometheus::Counter* token_reloads_ok_ = nullptr;
  prometheus::Counter* token_reloads_refused_ = nullptr;
  prometheus::Gauge* token_file_refused_ = nullptr;
  prometheus::Family<prometheus::Gauge>* certificate_expiry_family_ = nullptr;
  // Set from one thread at a time: at start, then the analysis thread.
  prometheus::Gauge* certificate_expiry_ = nullptr;
  prometheus::Gauge* tokens_ = nullptr;
  prometheus::Counter* shed_ = nullptr;
  prometheus::Gauge* in_flight_ = nullptr;
  prometheus::Gauge* routing_problems_ = nullptr;
  prometheus::Counter* model_files_changed_ = nullptr;
  prometheus::Counter* connections_refused_grpc_ = nullptr;
  prometheus::Counter* feedback_refused_[kNumFeedbackRefusals] = {};
  int64_t feedback_refused_seen_[kNumFeedbackRefusals] ABSL_GUARDED_BY(mu_) = {};
  prometheus::Counter* connections_refused_health_ = nullptr;
  prometheus::Counter* protobuf_log_lines_ = nullptr;
  int64_t protobuf_log_lines_seen_ ABSL_GUARDED_BY(mu_) = 0;
  prometheus::Gauge* cpu_utilisation_ = nullptr;
  prometheus::Gauge* cpu_work_share_ = nullptr;
  prometheus::Gauge* cpu_shed_share_ = nullptr;
  std::vector<prometheus::Gauge*> trained_ ABSL_GUARDED_BY(mu_);
  std::map<std::pair<int, std::string>, prometheus::Counter*> product_feedback_ ABSL_GUARDED_BY(mu_);
  std::map<std::tuple<int, int64_t, int>, prometheus::Counter*> version_feedback_ ABSL_GUARDED_BY(mu_);
  prometheus::Counter* FeedbackCounterLocked(FeedbackEvent event, int64_t version, Variant variant)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::unique_ptr<VersionMetrics> without_model_;
  std::unique_ptr<VersionMetrics> batch_;
  std::unique_ptr<VersionMetrics> feedback_calls_;
  absl::Mutex mu_;
  std::vector<prometheus::Gauge*> serving_info_ ABSL_GUARDED_BY(mu_);
  // Live handles by (version, variant), so a version published again shares
  // its series and series are removed only when nobody holds them.
  std::map<std::pair<int64_t, int>, std::weak_ptr<const VersionMetrics>> live_ ABSL_GUARDED_BY(mu_);
  void RemoveSeries(const VersionMetrics& handles) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
};

}  // namespace easymoney

#endif  // EASYMONEY_SERVER_SERVER_METRICS_H_
