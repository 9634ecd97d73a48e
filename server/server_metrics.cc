#include "server/server_metrics.h"

#include <chrono>

#include "absl/strings/str_cat.h"

namespace easymoney {
namespace {

constexpr std::array<const char*, kNumMethods> kMethodNames = {"RecommendProducts"};
constexpr std::array<const char*, kNumGrpcCodes> kCodeNames = {
    "OK",       "CANCELLED",         "UNKNOWN",          "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS",   "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",     "UNIMPLEMENTED",    "INTERNAL",
    "UNAVAILABLE", "DATA_LOSS",      "UNAUTHENTICATED"};

// Sub-millisecond resolution where the service lives, coarse beyond.
const prometheus::Histogram::BucketBoundaries& LatencyBuckets() {
  static const auto* buckets = new prometheus::Histogram::BucketBoundaries{
      25e-6, 50e-6, 100e-6, 200e-6, 300e-6, 500e-6, 750e-6, 1e-3, 2.5e-3,
      5e-3,  10e-3, 25e-3,  50e-3,  100e-3, 250e-3, 1.0};
  return *buckets;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ServerMetrics>> ServerMetrics::Create(const std::string& bind_address) {
  std::unique_ptr<ServerMetrics> metrics(new ServerMetrics());
  try {
    // prometheus-cpp reports bind failures by throwing; keep that inside.
    metrics->exposer_ = std::make_unique<prometheus::Exposer>(bind_address, /*num_threads=*/1);
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("cannot serve metrics on ", bind_address, ": ", e.what()));
  }
  const std::vector<int> ports = metrics->exposer_->GetListeningPorts();
  metrics->port_ = ports.empty() ? 0 : ports.front();
  metrics->registry_ = std::make_shared<prometheus::Registry>();
  metrics->exposer_->RegisterCollectable(metrics->registry_);

  auto& durations = prometheus::BuildHistogram()
                        .Name("recommender_request_duration_seconds")
                        .Help("Time from receiving an RPC to finishing it, by method.")
                        .Register(*metrics->registry_);
  auto& requests = prometheus::BuildCounter()
                       .Name("recommender_requests_total")
                       .Help("Finished RPCs by method and gRPC status code.")
                       .Register(*metrics->registry_);
  for (int m = 0; m < kNumMethods; ++m) {
    metrics->durations_[m] = &durations.Add({{"method", kMethodNames[m]}}, LatencyBuckets());
    for (int c = 0; c < kNumGrpcCodes; ++c) {
      metrics->requests_[m][c] = &requests.Add({{"method", kMethodNames[m]}, {"code", kCodeNames[c]}});
    }
  }
  metrics->recommendations_ = &prometheus::BuildCounter()
                                   .Name("recommender_recommendations_total")
                                   .Help("Products returned in recommendations, by product and model version.")
                                   .Register(*metrics->registry_);
  metrics->model_info_ = &prometheus::BuildGauge()
                              .Name("recommender_model_info")
                              .Help("1 for the model version currently serving, 0 for versions served before.")
                              .Register(*metrics->registry_);
  metrics->model_customers_ = &prometheus::BuildGauge()
                                   .Name("recommender_model_customers")
                                   .Help("Customers known to the serving model version.")
                                   .Register(*metrics->registry_)
                                   .Add({});
  metrics->model_loaded_timestamp_ = &prometheus::BuildGauge()
                                          .Name("recommender_model_loaded_timestamp_seconds")
                                          .Help("Unix time the serving model version was published.")
                                          .Register(*metrics->registry_)
                                          .Add({});
  metrics->load_failures_ = &prometheus::BuildCounter()
                                 .Name("recommender_model_load_failures_total")
                                 .Help("Model versions refused by validation.")
                                 .Register(*metrics->registry_)
                                 .Add({});
  return metrics;
}

void ServerMetrics::RecordRequest(Method method, grpc::StatusCode code, double seconds) {
  const int m = static_cast<int>(method);
  const int c = static_cast<int>(code);
  durations_[m]->Observe(seconds);
  requests_[m][(c >= 0 && c < kNumGrpcCodes) ? c : static_cast<int>(grpc::StatusCode::UNKNOWN)]->Increment();
}

ServerMetrics::ProductCounters ServerMetrics::MakeProductCounters(const Model& model) {
  ProductCounters counters;
  const std::string version = std::to_string(model.version());
  for (int p = 0; p < model.num_products(); ++p) {
    counters.push_back(&recommendations_->Add({{"product", model.product(p).id()}, {"model_version", version}}));
  }
  return counters;
}

void ServerMetrics::OnModelPublished(const Model& model) {
  prometheus::Gauge* info = &model_info_->Add({{"version", std::to_string(model.version())}});
  info->Set(1);
  prometheus::Gauge* previous = current_model_info_.exchange(info);
  if (previous != nullptr && previous != info) previous->Set(0);
  model_customers_->Set(static_cast<double>(model.num_customers()));
  model_loaded_timestamp_->Set(
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
}

void ServerMetrics::OnModelLoadFailed() { load_failures_->Increment(); }

}  // namespace easymoney
