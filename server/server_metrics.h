#ifndef EASYMONEY_SERVER_SERVER_METRICS_H_
#define EASYMONEY_SERVER_SERVER_METRICS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
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
#include "absl/synchronization/mutex.h"
#include "core/canary_router.h"
#include "core/model.h"

namespace easymoney {

inline constexpr int kNumGrpcCodes = 17;  // OK .. UNAUTHENTICATED.
// Catalogues up to this size get a recommendations series per product;
// larger ones one series labelled product="(all)".
inline constexpr size_t kMaxProductSeries = 1000;

// The metric handles of one (model version, variant) pair for
// RecommendProducts: made once when the version is published, so a request
// only increments pre-resolved counters (no label lookup, no allocation).
struct VersionMetrics {
  prometheus::Histogram* duration = nullptr;
  std::array<prometheus::Counter*, kNumGrpcCodes> requests{};
  std::vector<prometheus::Counter*> recommendations;  // By catalogue index.

  void RecordRequest(grpc::StatusCode code, double seconds) const;
};

// Shadow-mode handles of one shadow version.
struct ShadowMetrics {
  prometheus::Counter* requests = nullptr;
  prometheus::Histogram* overlap = nullptr;  // |shadow top-N ∩ served top-N| / |served top-N|.
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
  const VersionMetrics& without_model() const { return without_model_; }

  // Sets recommender_model_info to 1 for the versions serving now (labelled
  // by variant) and to 0 for those that served before.
  void OnPublished(const Model& stable, const Model* canary) ABSL_LOCKS_EXCLUDED(mu_);
  void OnModelLoadFailed();
  std::shared_ptr<const ShadowMetrics> ForShadow(const Model& shadow);
  void OnAutoRollback() { auto_rollbacks_->Increment(); }
  // Counts one RecommendProductsBatch call (its items are counted as
  // RecommendProducts recommendations under their versions).
  void RecordBatch(grpc::StatusCode code, double seconds);

 private:
  ServerMetrics() = default;
  VersionMetrics MakeHandles(const std::string& version, const std::string& variant,
                             const std::vector<std::string>& products, const char* method = "RecommendProducts");

  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  int port_ = 0;
  prometheus::Family<prometheus::Histogram>* durations_ = nullptr;
  prometheus::Family<prometheus::Counter>* requests_ = nullptr;
  prometheus::Family<prometheus::Counter>* recommendations_ = nullptr;
  prometheus::Family<prometheus::Gauge>* model_info_ = nullptr;
  prometheus::Gauge* model_customers_ = nullptr;
  prometheus::Gauge* model_loaded_timestamp_ = nullptr;
  prometheus::Counter* load_failures_ = nullptr;
  prometheus::Counter* auto_rollbacks_ = nullptr;
  prometheus::Family<prometheus::Counter>* shadow_requests_ = nullptr;
  prometheus::Family<prometheus::Histogram>* shadow_overlap_ = nullptr;
  VersionMetrics without_model_;
  VersionMetrics batch_;
  absl::Mutex mu_;
  std::vector<prometheus::Gauge*> serving_info_ ABSL_GUARDED_BY(mu_);
  // Live handles by (version, variant), so a version published again shares
  // its series and series are removed only when nobody holds them.
  std::map<std::pair<int64_t, int>, std::weak_ptr<const VersionMetrics>> live_ ABSL_GUARDED_BY(mu_);
  void RemoveSeries(const VersionMetrics& handles) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
};

}  // namespace easymoney

#endif  // EASYMONEY_SERVER_SERVER_METRICS_H_
