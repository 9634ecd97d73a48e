#ifndef EASYMONEY_SERVER_SERVER_METRICS_H_
#define EASYMONEY_SERVER_SERVER_METRICS_H_

#include <array>
#include <atomic>
#include <cstdint>
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

#include "absl/status/statusor.h"
#include "core/model.h"

namespace easymoney {

// The RPC methods we measure; indices into the per-method handle tables.
enum class Method { kRecommendProducts = 0 };
inline constexpr int kNumMethods = 1;
inline constexpr int kNumGrpcCodes = 17;  // OK .. UNAUTHENTICATED.

// The server's Prometheus metrics and their HTTP exposer.
//
// Every handle is created up front (per method and gRPC code at start-up,
// per product when a model version is published), so a request only
// increments pre-resolved counters: no label lookup, no allocation.
//
// Thread-safe. Handles stay valid for the ServerMetrics' lifetime.
class ServerMetrics {
 public:
  // Starts serving /metrics on `bind_address` ("127.0.0.1:9464"; port 0
  // picks a free port, see port()).
  static absl::StatusOr<std::unique_ptr<ServerMetrics>> Create(const std::string& bind_address);

  // The port /metrics listens on.
  int port() const { return port_; }

  // Counts one finished RPC and observes its duration.
  void RecordRequest(Method method, grpc::StatusCode code, double seconds);

  // Per-version product counters, indexed by catalogue position. Made when a
  // version is published; the request path only indexes into them.
  using ProductCounters = std::vector<prometheus::Counter*>;
  ProductCounters MakeProductCounters(const Model& model);

  // Sets recommender_model_info{version=...} to 1 for `model` and 0 for the
  // previously published version.
  void OnModelPublished(const Model& model);
  void OnModelLoadFailed();

 private:
  ServerMetrics() = default;

  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  int port_ = 0;
  std::array<prometheus::Histogram*, kNumMethods> durations_{};
  std::array<std::array<prometheus::Counter*, kNumGrpcCodes>, kNumMethods> requests_{};
  prometheus::Family<prometheus::Counter>* recommendations_ = nullptr;
  prometheus::Family<prometheus::Gauge>* model_info_ = nullptr;
  prometheus::Gauge* model_customers_ = nullptr;
  prometheus::Gauge* model_loaded_timestamp_ = nullptr;
  prometheus::Counter* load_failures_ = nullptr;
  std::atomic<prometheus::Gauge*> current_model_info_{nullptr};
};

}  // namespace easymoney

#endif  // EASYMONEY_SERVER_SERVER_METRICS_H_
