#include "server/server_metrics.h"

#include <chrono>
#include <cmath>
#include <span>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "core/model/drift.h"
#include "server/status_page.h"

namespace easymoney {
namespace {


constexpr std::array<const char*, kNumGrpcCodes> kCodeNames = {
    "OK",       "CANCELLED",         "UNKNOWN",          "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS",   "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",     "UNIMPLEMENTED",    "INTERNAL",
    "UNAVAILABLE", "DATA_LOSS",      "UNAUTHENTICATED"};

const char* VariantLabel(Variant variant) { return variant == Variant::kCanary ? "canary" : "stable"; }

constexpr std::array<const char*, kNumCallProtocols> kProtocolNames = {"grpc", "connect"};

// Sub-millisecond resolution where the service lives, coarse beyond.
std::vector<double> LatencyBuckets() {
  return {
      25e-6, 50e-6, 100e-6, 200e-6, 300e-6, 500e-6, 750e-6, 1e-3, 2.5e-3,
      5e-3,  10e-3, 25e-3,  50e-3,  100e-3, 250e-3, 1.0};
}

}  // namespace

void VersionMetrics::RecordColdStartProfile(std::optional<double> age, std::optional<double> salary) const {
  if (age.has_value() && !cold_start_ages.empty()) {
    cold_start_ages[static_cast<size_t>(DistributionBin(age_reference, *age))].fetch_add(1, std::memory_order_relaxed);
  }
  if (salary.has_value() && !cold_start_salaries.empty()) {
    cold_start_salaries[static_cast<size_t>(DistributionBin(salary_reference, *salary))].fetch_add(
        1, std::memory_order_relaxed);
  }
}

void VersionMetrics::RecordRequest(CallProtocol protocol, grpc::StatusCode code, double seconds) const {
  const int c = static_cast<int>(code);
  const auto p = static_cast<size_t>(protocol);
  duration[p]->Observe(seconds);
  requests[p][(c >= 0 && c < kNumGrpcCodes) ? c : static_cast<int>(grpc::StatusCode::UNKNOWN)]->Increment();
}

namespace {

// civetweb serves each connection on one worker thread from the moment it is
// accepted, and a worker waits for a request for up to its request timeout
// (30 s by default): with civetweb's defaults one idle TCP connection held
// the only worker and blinded every scrape for 30 s. With these, a
// connection that has not sent its request within a second is dropped, and
// dozens of idle or trickling connections leave workers free for the scraper.
// A scrape's request arrives in one packet, well inside the second.
std::vector<std::string> ExposerOptions(const std::string& bind_address) {
  return {"listening_ports", bind_address,  //
          "num_threads", std::to_string(kMetricsWorkerThreads),
          "request_timeout_ms", std::to_string(kMetricsRequestTimeoutMs),
          "enable_keep_alive", "no"};
}

}  // namespace

absl::StatusOr<std::unique_ptr<ServerMetrics>> ServerMetrics::Create(const std::string& bind_address) {
  std::unique_ptr<ServerMetrics> metrics(new ServerMetrics());
  try {
    // prometheus-cpp reports bind failures by throwing; keep that inside.
    metrics->exposer_ = std::make_unique<prometheus::Exposer>(ExposerOptions(bind_address), StatusPageCallbacks());
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("cannot serve metrics on ", bind_address, ": ", e.what()));
  }
  const std::vector<int> ports = metrics->exposer_->GetListeningPorts();
  metrics->port_ = ports.empty() ? 0 : ports.front();
  metrics->registry_ = std::make_shared<prometheus::Registry>();
  metrics->exposer_->RegisterCollectable(metrics->registry_);

  // Observed on every request: lock-free and sharded (see
  // sharded_histogram.h), exposed beside the registry's families.
  metrics->durations_ = std::make_shared<ShardedHistogramFamily>(
      "recommender_request_duration_seconds",
      "Time from receiving a call to finishing it, by method, model version, variant and protocol (grpc, or "
      "connect for JSON and protobuf over HTTP).",
      LatencyBuckets());
  metrics->exposer_->RegisterCollectable(metrics->durations_);
  metrics->requests_ = &prometheus::BuildCounter()
                            .Name("recommender_requests_total")
                            .Help("Finished calls by method, status code, model version, variant and protocol (grpc, or connect "
                                  "for JSON and protobuf over HTTP).")
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
  metrics->cold_start_ = &prometheus::BuildCounter()
                              .Name("recommender_cold_start_requests_total")
                              .Help("Answers for customers the version does not know, by strategy (fold_in, cluster, "
                                    "popular), model version and variant.")
                              .Register(*metrics->registry_);
  metrics->feedback_ = &prometheus::BuildCounter()
                            .Name("recommender_feedback_events_total")
                            .Help("Feedback events recorded (duplicates once), by event, model version and variant.")
                            .Register(*metrics->registry_);
  metrics->feedback_products_ = &prometheus::BuildCounter()
                                     .Name("recommender_feedback_product_events_total")
                                     .Help("Feedback events recorded, by event and product.")
                                     .Register(*metrics->registry_);
  metrics->cluster_psi_ = &prometheus::BuildGauge()
                               .Name("recommender_cluster_psi")
                               .Help("Population stability index of the served customers' cluster mix against the "
                                     "training mix, since the version was published.")
                               .Register(*metrics->registry_);
  metrics->feature_psi_ = &prometheus::BuildGauge()
                               .Name("recommender_feature_psi")
                               .Help("Population stability index of cold-start profiles (age, salary) against the "
                                     "training customers, since the version was published.")
                               .Register(*metrics->registry_);
  metrics->trained_timestamp_ = &prometheus::BuildGauge()
                                     .Name("recommender_model_trained_timestamp_seconds")
                                     .Help("Unix time the serving versions were trained (manifest created_at).")
                                     .Register(*metrics->registry_);
  metrics->backtest_map_ =
      &prometheus::BuildGauge()
           .Name("recommender_model_backtest_map")
           .Help("MAP@k over acquirers of the serving versions in their own rolling backtest (the manifest's "
                 "evaluation, map_relevant): what realised quality is compared with.")
           .Register(*metrics->registry_);
  metrics->realised_map_ =
      &prometheus::BuildGauge()
           .Name("recommender_model_realised_map")
           .Help("Realised MAP@k over acquirers of the serving versions on the newest month they were not trained "
                 "on, as recommender-retrain measured it (MODEL_BASE/realised_quality.json, map_relevant): the "
                 "concept-drift signal.")
           .Register(*metrics->registry_);
  metrics->realised_popularity_map_ =
      &prometheus::BuildGauge()
           .Name("recommender_model_realised_popularity_map")
           .Help("The popularity baseline's realised MAP@k on the same customers and month as "
                 "recommender_model_realised_map.")
           .Register(*metrics->registry_);
  metrics->cluster_reassigned_ = &prometheus::BuildGauge()
                                      .Name("recommender_cluster_reassigned_ratio")
                                      .Help("Share of the customers in both versions whose (matched) cluster "
                                            "changed at the last stable swap.")
                                      .Register(*metrics->registry_)
                                      .Add({});
  auto& appends = prometheus::BuildCounter()
                      .Name("recommender_event_log_appends_total")
                      .Help("Lines appended to the event log, by kind.")
                      .Register(*metrics->registry_);
  metrics->served_logged_ = &appends.Add({{"kind", "served"}});
  metrics->feedback_logged_ = &appends.Add({{"kind", "feedback"}});
  metrics->event_log_fsync_ = &prometheus::BuildHistogram()
                                   .Name("recommender_event_log_fsync_seconds")
                                   .Help("fdatasync time of each event-log group commit.")
                                   .Register(*metrics->registry_)
                                   .Add({}, prometheus::Histogram::BucketBoundaries{
                                                1e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.5});
  metrics->event_log_errors_ = &prometheus::BuildCounter()
                                    .Name("recommender_event_log_errors_total")
                                    .Help("Event-log writes or fsyncs that failed (nothing was acknowledged).")
                                    .Register(*metrics->registry_)
                                    .Add({});
  auto& auth_refusals = prometheus::BuildCounter()
                            .Name("recommender_auth_refusals_total")
                            .Help("Calls refused by authentication (UNAUTHENTICATED) or authorisation "
                                  "(PERMISSION_DENIED), by reason and by the role the method needs.")
                            .Register(*metrics->registry_);
  const char* const reasons[] = {"missing_token", "unknown_token", "wrong_role"};
  for (int reason = 0; reason < 3; ++reason) {
    for (int admin = 0; admin < 2; ++admin) {
      metrics->auth_refusals_[reason * 2 + admin] =
          &auth_refusals.Add({{"reason", reasons[reason]}, {"role", admin ? "admin" : "recommend"}});
    }
  }
  auto& token_reloads = prometheus::BuildCounter()
                            .Name("recommender_auth_token_reloads_total")
                            .Help("Token-file changes taken (accepted) or refused (the previous tokens stay).")
                            .Register(*metrics->registry_);
  metrics->token_reloads_ok_ = &token_reloads.Add({{"result", "accepted"}});
  metrics->token_reloads_refused_ = &token_reloads.Add({{"result", "refused"}});
  metrics->tokens_ = &prometheus::BuildGauge()
                          .Name("recommender_auth_tokens")
                          .Help("Bearer tokens in force (-1: authentication is off).")
                          .Register(*metrics->registry_)
                          .Add({});
  metrics->tokens_->Set(-1);
  // Stays 1 while the file on disk is refused, so an alert on it lasts as
  // long as the problem rather than as long as a counter's rate window.
  metrics->token_file_refused_ = &prometheus::BuildGauge()
                                      .Name("recommender_auth_token_file_refused")
                                      .Help("1 while the token file on disk is refused and older tokens stay in "
                                            "force, else 0.")
                                      .Register(*metrics->registry_)
                                      .Add({});
  // Absent on a plaintext server rather than 0, so an alert on the time
  // left cannot fire for a server without TLS: only Add()ed with TLS.
  metrics->certificate_expiry_family_ = &prometheus::BuildGauge()
                                             .Name("recommender_tls_certificate_expiry_timestamp_seconds")
                                             .Help("Unix time the gRPC port's certificate (the leaf of "
                                                   "--tls-cert-file) expires; re-read every minute.")
                                             .Register(*metrics->registry_);
  metrics->shed_ = &prometheus::BuildCounter()
                        .Name("recommender_requests_shed_total")
                        .Help("Calls refused with RESOURCE_EXHAUSTED: --max-in-flight calls were running, or the "
                              "CPU was saturated (--shed-on-cpu-saturation).")
                        .Register(*metrics->registry_)
                        .Add({});
  metrics->in_flight_ = &prometheus::BuildGauge()
                             .Name("recommender_in_flight_requests")
                             .Help("Recommender calls between handler start and response sent (sampled each second).")
                             .Register(*metrics->registry_)
                             .Add({});
  const auto gauge = [&](const char* name, const char* help) {
    return &prometheus::BuildGauge().Name(name).Help(help).Register(*metrics->registry_).Add({});
  };
  metrics->routing_problems_ =
      gauge("recommender_routing_problems",
            "Versions the routing (routing.json or ModelAdmin) names that cannot serve: missing, FAILED or "
            "incomplete. The reasons are in ListVersions' routing_problems and the log.");
  metrics->model_files_changed_ =
      &prometheus::BuildCounter()
           .Name("recommender_model_files_changed_total")
           .Help("Loaded model versions whose files changed on disk after they were loaded (a copy or rsync over a "
                 "published version; each version once). The version goes on serving what was loaded and validated.")
           .Register(*metrics->registry_)
           .Add({});
  auto& feedback_refused =
      prometheus::BuildCounter()
          .Name("recommender_feedback_refused_total")
          .Help("ReportFeedback calls refused with INVALID_ARGUMENT because they are not about an answer this service "
                "gave, by reason: not_issued (the request_id was not signed for that customer: forged, altered or "
                "another deployment's), not_in_answer (version, variant or product differ from the answer's), "
                "outside_window (too old, or an event time before the answer or in the future). Kept out of the KPIs "
                "and the event log.")
          .Register(*metrics->registry_);
  for (int r = 0; r < kNumFeedbackRefusals; ++r) {
    metrics->feedback_refused_[r] =
        &feedback_refused.Add({{"reason", FeedbackRefusalName(static_cast<FeedbackRefusal>(r))}});
  }
  auto& connections_refused =
      prometheus::BuildCounter()
          .Name("recommender_connections_refused_total")
          .Help("Connections closed as soon as accepted because the process held nearly as many descriptors as "
                "its limit allows (the rest is kept for model files, logs and scrapes), by port. While they are "
                "refused, health answers NOT_SERVING.")
          .Register(*metrics->registry_);
  metrics->connections_refused_grpc_ = &connections_refused.Add({{"port", "grpc"}});
  metrics->connections_refused_health_ = &connections_refused.Add({{"port", "health"}});
  metrics->protobuf_log_lines_ =
      &prometheus::BuildCounter()
           .Name("recommender_protobuf_log_lines_total")
           .Help("Warnings and errors libprotobuf logged, mostly requests whose bytes did not decode (a string "
                 "field that is not UTF-8); at most one a 10 s is printed.")
           .Register(*metrics->registry_)
           .Add({});
  metrics->cpu_utilisation_ =
      gauge("recommender_cpu_utilisation", "CPU time used by the server over the last 100 ms, as a share of the CPUs "
                                           "it may use (affinity and cgroup quota); 0 unless CPU shedding runs.");
  metrics->cpu_work_share_ =
      gauge("recommender_cpu_work_share", "Share of an answer's CPU cost that is the Recommender handler's own work "
                                          "(what refusing a call saves), over the last 100 ms; 0 unless CPU shedding "
                                          "runs.");
  metrics->cpu_shed_share_ = gauge("recommender_cpu_shed_share",
                                   "Share of new Recommender calls refused because the CPU is saturated (0..0.9).");
  metrics->without_model_ = std::make_unique<VersionMetrics>();
  metrics->MakeHandles("none", "none", nullptr, *metrics->without_model_);
  // A batch may mix variants, so the call itself carries no version.
  metrics->batch_ = std::make_unique<VersionMetrics>();
  metrics->MakeHandles("all", "all", nullptr, *metrics->batch_, "RecommendProductsBatch");
  // Feedback names its version in the request; the call's own series do not.
  metrics->feedback_calls_ = std::make_unique<VersionMetrics>();
  metrics->MakeHandles("all", "all", nullptr, *metrics->feedback_calls_, "ReportFeedback");
  return metrics;
}

void ServerMetrics::MakeHandles(const std::string& version, const std::string& variant, const Model* model,
                                VersionMetrics& handles, const char* method) {
  for (int p = 0; p < kNumCallProtocols; ++p) {
    handles.duration[p] = durations_->Add(
        {{"method", method}, {"model_version", version}, {"variant", variant}, {"protocol", kProtocolNames[p]}});
    for (int c = 0; c < kNumGrpcCodes; ++c) {
      handles.requests[p][c] = &requests_->Add({{"method", method},
                                                {"code", kCodeNames[c]},
                                                {"model_version", version},
                                                {"variant", variant},
                                                {"protocol", kProtocolNames[p]}});
    }
  }
  if (model == nullptr) return;
  std::vector<std::string> products;
  for (int p = 0; p < model->num_products(); ++p) products.push_back(model->product(p).id());
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
  const char* const kColdStart[] = {"fold_in", "cluster", "popular"};
  for (int s = 0; s < 3; ++s) {
    handles.cold_start[s] =
        &cold_start_->Add({{"strategy", kColdStart[s]}, {"model_version", version}, {"variant", variant}});
  }
  // The training cluster mix, from the version's own assignments.
  const int clusters = model->manifest().num_clusters();
  std::vector<int64_t> sizes(static_cast<size_t>(clusters), 0);
  for (int32_t cluster : model->customer_clusters()) ++sizes[static_cast<size_t>(cluster)];
  for (int64_t size : sizes) {
    handles.training_cluster_shares.push_back(
        static_cast<double>(size) / static_cast<double>(std::max<int64_t>(1, model->num_customers())));
  }
  handles.served_clusters = std::vector<std::atomic<int64_t>>(static_cast<size_t>(clusters));
  for (const auto& distribution : model->manifest().feature_distributions()) {
    if (distribution.feature() == "age") {
      handles.age_reference = distribution;
      handles.cold_start_ages = std::vector<std::atomic<int64_t>>(static_cast<size_t>(distribution.shares_size()));
    } else if (distribution.feature() == "salary") {
      handles.salary_reference = distribution;
      handles.cold_start_salaries =
          std::vector<std::atomic<int64_t>>(static_cast<size_t>(distribution.shares_size()));
    }
  }
  const prometheus::Labels labels = {{"model_version", version}, {"variant", variant}};
  handles.cluster_psi = &cluster_psi_->Add(labels);
  handles.cluster_psi->Set(std::nan(""));
  if (!handles.cold_start_ages.empty()) {
    handles.age_psi = &feature_psi_->Add({{"model_version", version}, {"variant", variant}, {"feature", "age"}});
    handles.age_psi->Set(std::nan(""));
  }
  if (!handles.cold_start_salaries.empty()) {
    handles.salary_psi = &feature_psi_->Add({{"model_version", version}, {"variant", variant}, {"feature", "salary"}});
    handles.salary_psi->Set(std::nan(""));
  }
}

std::shared_ptr<const VersionMetrics> ServerMetrics::ForVersion(const Model& model, Variant variant) {
  const std::pair<int64_t, int> key(model.version(), static_cast<int>(variant));
  absl::MutexLock lock(&mu_);
  if (auto live = live_[key].lock()) return live;
  auto* handles = new VersionMetrics();
  MakeHandles(std::to_string(model.version()), VariantLabel(variant), &model, *handles);
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
  for (int p = 0; p < kNumCallProtocols; ++p) {
    durations_->Remove(handles.duration[p]);
    for (prometheus::Counter* counter : handles.requests[p]) requests_->Remove(counter);
  }
  // Catalogues above kMaxProductSeries share one counter: remove it once.
  prometheus::Counter* previous = nullptr;
  for (prometheus::Counter* counter : handles.recommendations) {
    if (counter != previous) recommendations_->Remove(counter);
    previous = counter;
  }
  for (prometheus::Counter* counter : handles.cold_start) {
    if (counter != nullptr) cold_start_->Remove(counter);
  }
  if (handles.cluster_psi != nullptr) cluster_psi_->Remove(handles.cluster_psi);
  if (handles.age_psi != nullptr) feature_psi_->Remove(handles.age_psi);
  if (handles.salary_psi != nullptr) feature_psi_->Remove(handles.salary_psi);
}

namespace {

// PSI is exported once this many requests (or cold-start profiles) were
// seen; below it the index is mostly sampling noise.
constexpr int64_t kMinDriftSamples = 1000;

std::vector<int64_t> Snapshot(const std::vector<std::atomic<int64_t>>& counts) {
  std::vector<int64_t> out;
  out.reserve(counts.size());
  for (const auto& count : counts) out.push_back(count.load(std::memory_order_relaxed));
  return out;
}

void SetPsi(prometheus::Gauge* gauge, std::span<const double> expected, const std::vector<std::atomic<int64_t>>& observed) {
  if (gauge == nullptr) return;
  const std::optional<double> psi = PopulationStabilityIndex(expected, Snapshot(observed), kMinDriftSamples);
  gauge->Set(psi.value_or(std::nan("")));
}

}  // namespace

void ServerMetrics::UpdateDrift(const VersionMetrics& handles) {
  SetPsi(handles.cluster_psi, handles.training_cluster_shares, handles.served_clusters);
  const std::vector<double> ages(handles.age_reference.shares().begin(), handles.age_reference.shares().end());
  SetPsi(handles.age_psi, ages, handles.cold_start_ages);
  const std::vector<double> salaries(handles.salary_reference.shares().begin(),
                                     handles.salary_reference.shares().end());
  SetPsi(handles.salary_psi, salaries, handles.cold_start_salaries);
}

prometheus::Counter* ServerMetrics::FeedbackCounterLocked(FeedbackEvent event, int64_t version, Variant variant) {
  prometheus::Counter*& counter = version_feedback_[{static_cast<int>(event), version, static_cast<int>(variant)}];
  if (counter == nullptr) {
    counter = &feedback_->Add({{"event", FeedbackEventName(event)},
                               {"model_version", std::to_string(version)},
                               {"variant", VariantLabel(variant)}});
  }
  return counter;
}

void ServerMetrics::RecordFeedback(FeedbackEvent event, int64_t version, Variant variant, const std::string& product) {
  absl::MutexLock lock(&mu_);
  FeedbackCounterLocked(event, version, variant)->Increment();
  prometheus::Counter*& counter = product_feedback_[{static_cast<int>(event), product}];
  if (counter == nullptr) {
    counter = &feedback_products_->Add({{"event", FeedbackEventName(event)}, {"product", product}});
  }
  counter->Increment();
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
  // Feedback series exist (at 0) as soon as a version serves, so rates and
  // ratios over them are defined before the first event.
  for (int e = 0; e < kNumFeedbackEvents; ++e) {
    FeedbackCounterLocked(static_cast<FeedbackEvent>(e), stable.version(), Variant::kStable);
    if (canary != nullptr) FeedbackCounterLocked(static_cast<FeedbackEvent>(e), canary->version(), Variant::kCanary);
  }
  for (prometheus::Gauge* gauge : trained_) trained_timestamp_->Remove(gauge);
  trained_.clear();
  for (prometheus::Gauge* gauge : backtest_) backtest_map_->Remove(gauge);
  backtest_.clear();
  for (const Model* model : {&stable, canary}) {
    if (model == nullptr || model->manifest().evaluation().methods_size() == 0) continue;
    prometheus::Gauge* gauge = &backtest_map_->Add({{"model_version", std::to_string(model->version())}});
    // Over acquirers, as the realised figure: a month where more customers
    // acquire something would otherwise look like better ranking.
    gauge->Set(model->manifest().evaluation().methods(0).map_relevant());
    backtest_.push_back(gauge);
  }
  for (const Model* model : {&stable, canary}) {
    if (model == nullptr) continue;
    absl::Time created;
    std::string error;
    if (!absl::ParseTime(absl::RFC3339_full, model->manifest().created_at(), &created, &error)) continue;
    prometheus::Gauge* gauge = &trained_timestamp_->Add({{"model_version", std::to_string(model->version())}});
    gauge->Set(absl::ToDoubleSeconds(created - absl::UnixEpoch()));
    trained_.push_back(gauge);
  }
  model_loaded_timestamp_->Set(
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
}

void ServerMetrics::OnModelLoadFailed() { load_failures_->Increment(); }

void ServerMetrics::SetCertificateExpiry(absl::Time expiry) {
  if (certificate_expiry_ == nullptr) certificate_expiry_ = &certificate_expiry_family_->Add({});
  certificate_expiry_->Set(absl::ToDoubleSeconds(expiry - absl::UnixEpoch()));
}

void ServerMetrics::OnTokenReload(bool accepted, int tokens) {
  (accepted ? token_reloads_ok_ : token_reloads_refused_)->Increment();
  token_file_refused_->Set(accepted ? 0 : 1);
  tokens_->Set(tokens);
}

void ServerMetrics::RecordBatch(CallProtocol protocol, grpc::StatusCode code, double seconds) {
  batch_->RecordRequest(protocol, code, seconds);
}

std::shared_ptr<const ShadowMetrics> ServerMetrics::ForShadow(const Model& shadow) {
  auto handles = std::make_shared<ShadowMetrics>();
  const prometheus::Labels labels = {{"model_version", std::to_string(shadow.version())}};
  handles->requests = &shadow_requests_->Add(labels);
  handles->overlap = &shadow_overlap_->Add(
      labels, prometheus::Histogram::BucketBoundaries{0.0, 0.2, 0.4, 0.6, 0.8, 0.999});
  return handles;
}

std::shared_ptr<const ServingSetMetrics> ServerMetrics::ForServingSet(const ServingSet& serving) {
  auto handles = std::make_shared<ServingSetMetrics>();
  handles->variants[static_cast<int>(Variant::kStable)] = ForVersion(*serving.stable, Variant::kStable);
  if (serving.canary) {
    handles->variants[static_cast<int>(Variant::kCanary)] = ForVersion(*serving.canary, Variant::kCanary);
  }
  if (serving.shadow) handles->shadow = ForShadow(*serving.shadow);
  return handles;
}

void ServerMetrics::SetRealisedQuality(const easymoney::model::v1::RealisedQuality& quality,
                                       const std::vector<int64_t>& serving) {
  absl::MutexLock lock(&mu_);
  for (prometheus::Gauge* gauge : realised_) realised_map_->Remove(gauge);
  for (prometheus::Gauge* gauge : realised_popularity_) realised_popularity_map_->Remove(gauge);
  realised_.clear();
  realised_popularity_.clear();
  for (int64_t version : serving) {
    // The newest measurement of the version (measurements are appended).
    const easymoney::model::v1::VersionQuality* newest = nullptr;
    for (const auto& measurement : quality.measurements()) {
      if (measurement.model_version() == version) newest = &measurement;
    }
    if (newest == nullptr) continue;
    const prometheus::Labels labels = {{"model_version", std::to_string(version)}};
    realised_.push_back(&realised_map_->Add(labels));
    realised_.back()->Set(newest->map_relevant());
    realised_popularity_.push_back(&realised_popularity_map_->Add(labels));
    realised_popularity_.back()->Set(newest->popularity_map_relevant());
  }
}

void ServerMetrics::SetFeedbackRefused(FeedbackRefusal refusal, int64_t total) {
  const int r = static_cast<int>(refusal);
  absl::MutexLock lock(&mu_);
  if (total > feedback_refused_seen_[r]) {
    feedback_refused_[r]->Increment(static_cast<double>(total - feedback_refused_seen_[r]));
    feedback_refused_seen_[r] = total;
  }
}

void ServerMetrics::SetProtobufLogLines(int64_t total) {
  absl::MutexLock lock(&mu_);
  if (total > protobuf_log_lines_seen_) {
    protobuf_log_lines_->Increment(static_cast<double>(total - protobuf_log_lines_seen_));
    protobuf_log_lines_seen_ = total;
  }
}

}  // namespace easymoney
