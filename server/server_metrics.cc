#include "server/server_metrics.h"

#include <chrono>

#include "absl/strings/str_cat.h"

namespace easymoney {
namespace {


constexpr std::array<const char*, kNumGrpcCodes> kCodeNames = {
    "OK",       "CANCELLED",         "UNKNOWN",          "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS",   "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",     "UNIMPLEMENTED",    "INTERNAL",
    "UNAVAILABLE", "DATA_LOSS",      "UNAUTHENTICATED"};

const char* VariantLabel(Variant variant) { return variant == Variant::kCanary ? "canary" : "stable"; }

// Sub-millisecond resolution where the service lives, coarse beyond.
const prometheus::Histogram::BucketBoundaries& LatencyBuckets() {
  static const auto* buckets = new prometheus::Histogram::BucketBoundaries{
      25e-6, 50e-6, 100e-6, 200e-6, 300e-6, 500e-6, 750e-6, 1e-3, 2.5e-3,
      5e-3,  10e-3, 25e-3,  50e-3,  100e-3, 250e-3, 1.0};
  return *buckets;
}

}  // namespace

void VersionMetrics::RecordRequest(grpc::StatusCode code, double seconds) const {
  const int c = static_cast<int>(code);
  duration->Observe(seconds);
  requests[(c >= 0 && c < kNumGrpcCodes) ? c : static_cast<int>(grpc::StatusCode::UNKNOWN)]->Increment();
}

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

  metrics->durations_ = &prometheus::BuildHistogram()
                             .Name("recommender_request_duration_seconds")
                             .Help("Time from receiving an RPC to finishing it, by method, model version and variant.")
                             .Register(*metrics->registry_);
  metrics->requests_ = &prometheus::BuildCounter()
                            .Name("recommender_requests_total")
                            .Help("Finished RPCs by method, gRPC status code, model version and variant.")
                            .Register(*metrics->registry_);
  metrics->recommendations_ = &prometheus::BuildCounter()
                                   .Name("recommender_recommendations_total")
                                   .Help("Products returned in recommendations, by product, model version and variant.")
                                   .Register(*metrics->registry_);
  metrics->model_info_ = &prometheus::BuildGauge()
                              .Name("recommender_model_info")
                              .Help("1 for the model versions serving now (by variant), 0 for versions served before.")
                              .Register(*metrics->registry_);
  metrics->model_customers_ = &prometheus::BuildGauge()
                                   .Name("recommender_model_customers")
                                   .Help("Customers known to the stable model version.")
                                   .Register(*metrics->registry_)
                                   .Add({});
  metrics->model_loaded_timestamp_ = &prometheus::BuildGauge()
                                          .Name("recommender_model_loaded_timestamp_seconds")
                                          .Help("Unix time the serving versions were last published.")
                                          .Register(*metrics->registry_)
                                          .Add({});
  metrics->load_failures_ = &prometheus::BuildCounter()
                                 .Name("recommender_model_load_failures_total")
                                 .Help("Model versions refused by validation.")
                                 .Register(*metrics->registry_)
                                 .Add({});
  metrics->auto_rollbacks_ = &prometheus::BuildCounter()
                                  .Name("recommender_canary_auto_rollbacks_total")
                                  .Help("Rollouts ended by automatic canary analysis.")
                                  .Register(*metrics->registry_)
                                  .Add({});
  metrics->shadow_requests_ = &prometheus::BuildCounter()
                                   .Name("recommender_shadow_requests_total")
                                   .Help("Requests also scored by the shadow version, by shadow model version.")
                                   .Register(*metrics->registry_);
  metrics->shadow_overlap_ = &prometheus::BuildHistogram()
                                  .Name("recommender_shadow_overlap_ratio")
                                  .Help("Share of the served top-N that the shadow version's top-N also holds.")
                                  .Register(*metrics->registry_);
  metrics->without_model_ = metrics->MakeHandles("none", "none", {});
  // A batch may mix variants, so the call itself carries no version.
  metrics->batch_ = metrics->MakeHandles("all", "all", {}, "RecommendProductsBatch");
  return metrics;
}

VersionMetrics ServerMetrics::MakeHandles(const std::string& version, const std::string& variant,
                                          const std::vector<std::string>& products, const char* method) {
  VersionMetrics handles;
  handles.duration = &durations_->Add({{"method", method}, {"model_version", version}, {"variant", variant}},
                                      LatencyBuckets());
  for (int c = 0; c < kNumGrpcCodes; ++c) {
    handles.requests[c] = &requests_->Add(
        {{"method", method}, {"code", kCodeNames[c]}, {"model_version", version}, {"variant", variant}});
  }
  if (products.size() <= kMaxProductSeries) {
    for (const std::string& product : products) {
      handles.recommendations.push_back(
          &recommendations_->Add({{"product", product}, {"model_version", version}, {"variant", variant}}));
    }
  } else {
    // A series per product is a KPI for a bank's few dozen products, but a
    // million-item catalogue would swamp Prometheus (and prometheus-cpp's
    // Remove is linear in the family): count such catalogues as a whole.
    prometheus::Counter* all =
        &recommendations_->Add({{"product", "(all)"}, {"model_version", version}, {"variant", variant}});
    handles.recommendations.assign(products.size(), all);
  }
  return handles;
}

std::shared_ptr<const VersionMetrics> ServerMetrics::ForVersion(const Model& model, Variant variant) {
  const std::pair<int64_t, int> key(model.version(), static_cast<int>(variant));
  absl::MutexLock lock(&mu_);
  if (auto live = live_[key].lock()) return live;
  std::vector<std::string> products;
  for (int p = 0; p < model.num_products(); ++p) products.push_back(model.product(p).id());
  auto* handles = new VersionMetrics(MakeHandles(std::to_string(model.version()), VariantLabel(variant), products));
  std::shared_ptr<const VersionMetrics> shared(handles, [this, key](const VersionMetrics* released) {
    absl::MutexLock lock(&mu_);
    // A publication between the last release and this lock made new handles
    // for the same series: they stay.
    const auto it = live_.find(key);
    if (it != live_.end() && it->second.expired()) {
      RemoveSeries(*released);
      live_.erase(it);
    }
    delete released;
  });
  live_[key] = shared;
  return shared;
}

void ServerMetrics::RemoveSeries(const VersionMetrics& handles) {
  durations_->Remove(handles.duration);
  for (prometheus::Counter* counter : handles.requests) requests_->Remove(counter);
  // Catalogues above kMaxProductSeries share one counter: remove it once.
  prometheus::Counter* previous = nullptr;
  for (prometheus::Counter* counter : handles.recommendations) {
    if (counter != previous) recommendations_->Remove(counter);
    previous = counter;
  }
}

void ServerMetrics::OnPublished(const Model& stable, const Model* canary) {
  absl::MutexLock lock(&mu_);
  for (prometheus::Gauge* gauge : serving_info_) gauge->Set(0);
  serving_info_.clear();
  serving_info_.push_back(&model_info_->Add({{"version", std::to_string(stable.version())}, {"variant", "stable"}}));
  if (canary != nullptr) {
    serving_info_.push_back(&model_info_->Add({{"version", std::to_string(canary->version())}, {"variant", "canary"}}));
  }
  for (prometheus::Gauge* gauge : serving_info_) gauge->Set(1);
  model_customers_->Set(static_cast<double>(stable.num_customers()));
  model_loaded_timestamp_->Set(
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
}

void ServerMetrics::OnModelLoadFailed() { load_failures_->Increment(); }

void ServerMetrics::RecordBatch(grpc::StatusCode code, double seconds) { batch_.RecordRequest(code, seconds); }

std::shared_ptr<const ShadowMetrics> ServerMetrics::ForShadow(const Model& shadow) {
  auto handles = std::make_shared<ShadowMetrics>();
  const prometheus::Labels labels = {{"model_version", std::to_string(shadow.version())}};
  handles->requests = &shadow_requests_->Add(labels);
  handles->overlap = &shadow_overlap_->Add(
      labels, prometheus::Histogram::BucketBoundaries{0.0, 0.2, 0.4, 0.6, 0.8, 0.999});
  return handles;
}

}  // namespace easymoney
