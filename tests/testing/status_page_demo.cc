// status_page_demo: serves the status page (server/status_page.h) beside
// simulated recommender-server metrics, for the browser test
// (tests/deploy/status_page_browser_test.sh) and for working on the page
// without models or load:
//
//   build/bin/status_page_demo --port 9464    # then open http://127.0.0.1:9464/status
//
// It simulates a canary rollout: version 7 stable at 900 requests/s, version 8
// canary at 100 requests/s with a slow tail (p99 above 1 ms), batch calls,
// cold starts, feedback events, and drift gauges with one PSI above 0.2.
//
// Every scrape of /metrics first advances the simulation by --step-seconds
// (default 2, the page's refresh period), so the page shows the configured
// rates whether a person watches it in a browser or headless Chromium runs it
// in virtual time, where 2 s pass in milliseconds. Two open pages therefore
// see twice the traffic. The random draws are seeded: runs are reproducible.
//
// Prints "status_page_demo: http://127.0.0.1:PORT/status" on stdout once
// serving; stops on SIGINT or SIGTERM.

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "server/status_page.h"

namespace easymoney {
namespace {

// The buckets of recommender_request_duration_seconds (server/server_metrics.cc).
const prometheus::Histogram::BucketBoundaries kLatencyBuckets = {
    25e-6, 50e-6, 100e-6, 200e-6, 300e-6, 500e-6, 750e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 1.0};

// The traffic one (model version, variant) pair answers.
struct Traffic {
  std::string version;
  std::string variant;
  std::string method = "RecommendProducts";
  double requests_per_second = 0;
  double median_latency_seconds = 0;
  double latency_sigma = 0;  // Of the log-normal latency.
  double server_error_ratio = 0;
  double client_error_ratio = 0;
  // Shares of successful answers that were cold starts, by strategy.
  double fold_in = 0, cluster = 0, popular = 0;
  // Per successful answer: impressions; per impression: clicks, conversions.
  double impressions = 0, click_through = 0, conversion = 0;
};

const std::vector<Traffic>& SimulatedTraffic() {
  static const auto* traffic = new std::vector<Traffic>{
      {.version = "7", .variant = "stable", .requests_per_second = 900, .median_latency_seconds = 45e-6,
       .latency_sigma = 0.55, .server_error_ratio = 0.0005, .client_error_ratio = 0.003, .fold_in = 0.025,
       .cluster = 0.010, .popular = 0.005, .impressions = 0.7, .click_through = 0.031, .conversion = 0.008},
      {.version = "8", .variant = "canary", .requests_per_second = 100, .median_latency_seconds = 160e-6,
       .latency_sigma = 0.95, .server_error_ratio = 0.004, .client_error_ratio = 0.003, .fold_in = 0.02,
       .cluster = 0.012, .popular = 0.004, .impressions = 0.7, .click_through = 0.036, .conversion = 0.0095},
      {.version = "all", .variant = "all", .method = "RecommendProductsBatch", .requests_per_second = 4,
       .median_latency_seconds = 2e-3, .latency_sigma = 0.4},
  };
  return *traffic;
}

double UnixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// The simulated server's metrics; Collect() advances the simulation first.
// Thread-safe.
class SimulatedServer : public prometheus::Collectable {
 public:
  explicit SimulatedServer(double step_seconds) : step_seconds_(step_seconds) {
    const double now = UnixNow();
    auto& info = prometheus::BuildGauge().Name("recommender_model_info").Help("Serving versions.").Register(*registry_);
    info.Add({{"version", "6"}, {"variant", "stable"}}).Set(0);
    info.Add({{"version", "7"}, {"variant", "stable"}}).Set(1);
    info.Add({{"version", "8"}, {"variant", "canary"}}).Set(1);
    auto& trained = prometheus::BuildGauge()
                        .Name("recommender_model_trained_timestamp_seconds")
                        .Help("When each version was trained.")
                        .Register(*registry_);
    trained.Add({{"model_version", "6"}}).Set(now - 43 * 86400.0);
    trained.Add({{"model_version", "7"}}).Set(now - 12.3 * 86400);
    trained.Add({{"model_version", "8"}}).Set(now - 26 * 3600.0);
    SetGauge("recommender_model_loaded_timestamp_seconds", {}, now - 25 * 60);
    SetGauge("recommender_model_customers", {}, 956645);
    SetGauge("recommender_cluster_reassigned_ratio", {}, 0.081);
    prometheus::BuildCounter()
        .Name("recommender_model_load_failures_total")
        .Help("Refused versions.")
        .Register(*registry_)
        .Add({})
        .Increment(1);
    prometheus::BuildCounter().Name("recommender_canary_auto_rollbacks_total").Help("Rollbacks.").Register(*registry_).Add({});
    cluster_psi_ = &prometheus::BuildGauge().Name("recommender_cluster_psi").Help("Cluster PSI.").Register(*registry_);
    feature_psi_ = &prometheus::BuildGauge().Name("recommender_feature_psi").Help("Feature PSI.").Register(*registry_);

    auto& requests = prometheus::BuildCounter().Name("recommender_requests_total").Help("Calls.").Register(*registry_);
    auto& durations =
        prometheus::BuildHistogram().Name("recommender_request_duration_seconds").Help("Latency.").Register(*registry_);
    auto& cold_starts =
        prometheus::BuildCounter().Name("recommender_cold_start_requests_total").Help("Cold starts.").Register(*registry_);
    auto& feedback =
        prometheus::BuildCounter().Name("recommender_feedback_events_total").Help("Feedback.").Register(*registry_);
    auto& recommendations =
        prometheus::BuildCounter().Name("recommender_recommendations_total").Help("Products.").Register(*registry_);
    for (const Traffic& traffic : SimulatedTraffic()) {
      const prometheus::Labels pair = {{"model_version", traffic.version}, {"variant", traffic.variant}};
      auto with = [&pair](prometheus::Labels more) {
        more.insert(pair.begin(), pair.end());
        return more;
      };
      Handles handles;
      handles.ok = &requests.Add(with({{"method", traffic.method}, {"code", "OK"}}));
      handles.server_error = &requests.Add(with({{"method", traffic.method}, {"code", "UNAVAILABLE"}}));
      handles.client_error = &requests.Add(with({{"method", traffic.method}, {"code", "INVALID_ARGUMENT"}}));
      handles.duration = &durations.Add(with({{"method", traffic.method}}), kLatencyBuckets);
      if (traffic.variant != "all") {
        handles.fold_in = &cold_starts.Add(with({{"strategy", "fold_in"}}));
        handles.cluster = &cold_starts.Add(with({{"strategy", "cluster"}}));
        handles.popular = &cold_starts.Add(with({{"strategy", "popular"}}));
        handles.impressions = &feedback.Add(with({{"event", "impression"}}));
        handles.clicks = &feedback.Add(with({{"event", "click"}}));
        handles.conversions = &feedback.Add(with({{"event", "conversion"}}));
        // The last id needs escaping in the exposition format, as any
        // catalogue's ids may: the page's parser must get past it.
        for (const char* product : {"ind_cco_fin_ult1", "ind_recibo_ult1", "gift \"plus\" card\\2"}) {
          handles.recommendations.push_back(&recommendations.Add(with({{"product", product}})));
        }
      }
      handles_.push_back(handles);
    }
  }

  std::vector<prometheus::MetricFamily> Collect() const override ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    Advance();
    return registry_->Collect();
  }

 private:
  struct Handles {
    prometheus::Counter *ok = nullptr, *server_error = nullptr, *client_error = nullptr;
    prometheus::Histogram* duration = nullptr;
    prometheus::Counter *fold_in = nullptr, *cluster = nullptr, *popular = nullptr;
    prometheus::Counter *impressions = nullptr, *clicks = nullptr, *conversions = nullptr;
    std::vector<prometheus::Counter*> recommendations;
  };

  void SetGauge(const std::string& name, const prometheus::Labels& labels, double value) {
    prometheus::BuildGauge().Name(name).Help(name).Register(*registry_).Add(labels).Set(value);
  }

  int64_t Binomial(int64_t n, double p) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return n <= 0 || p <= 0 ? 0 : std::binomial_distribution<int64_t>(n, p)(random_);
  }

  void Advance() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    std::uniform_real_distribution<double> jitter(-0.01, 0.01);
    cluster_psi_->Add({{"model_version", "7"}}).Set(0.042 + jitter(random_));
    cluster_psi_->Add({{"model_version", "8"}}).Set(0.13 + jitter(random_));
    feature_psi_->Add({{"model_version", "7"}, {"feature", "age"}}).Set(0.031 + jitter(random_));
    feature_psi_->Add({{"model_version", "7"}, {"feature", "salary"}}).Set(0.058 + jitter(random_));
    feature_psi_->Add({{"model_version", "8"}, {"feature", "age"}}).Set(0.067 + jitter(random_));
    feature_psi_->Add({{"model_version", "8"}, {"feature", "salary"}}).Set(0.24 + jitter(random_));
    for (size_t i = 0; i < handles_.size(); ++i) {
      const Traffic& traffic = SimulatedTraffic()[i];
      const Handles& handles = handles_[i];
      const int64_t calls = std::poisson_distribution<int64_t>(traffic.requests_per_second * step_seconds_)(random_);
      std::lognormal_distribution<double> latency(std::log(traffic.median_latency_seconds), traffic.latency_sigma);
      for (int64_t c = 0; c < calls; ++c) handles.duration->Observe(latency(random_));
      const int64_t server_errors = Binomial(calls, traffic.server_error_ratio);
      const int64_t client_errors = Binomial(calls - server_errors, traffic.client_error_ratio);
      const int64_t answered = calls - server_errors - client_errors;
      handles.ok->Increment(static_cast<double>(answered));
      handles.server_error->Increment(static_cast<double>(server_errors));
      handles.client_error->Increment(static_cast<double>(client_errors));
      if (handles.impressions == nullptr) continue;
      handles.fold_in->Increment(static_cast<double>(Binomial(answered, traffic.fold_in)));
      handles.cluster->Increment(static_cast<double>(Binomial(answered, traffic.cluster)));
      handles.popular->Increment(static_cast<double>(Binomial(answered, traffic.popular)));
      const int64_t impressions = Binomial(answered, traffic.impressions);
      handles.impressions->Increment(static_cast<double>(impressions));
      handles.clicks->Increment(static_cast<double>(Binomial(impressions, traffic.click_through)));
      handles.conversions->Increment(static_cast<double>(Binomial(impressions, traffic.conversion)));
      for (prometheus::Counter* product : handles.recommendations) product->Increment(static_cast<double>(answered));
    }
  }

  const double step_seconds_;
  const std::shared_ptr<prometheus::Registry> registry_ = std::make_shared<prometheus::Registry>();
  prometheus::Family<prometheus::Gauge>* cluster_psi_ = nullptr;
  prometheus::Family<prometheus::Gauge>* feature_psi_ = nullptr;
  std::vector<Handles> handles_;
  mutable absl::Mutex mu_;
  mutable std::mt19937_64 random_ ABSL_GUARDED_BY(mu_){20240607};
};

constexpr char kUsage[] =
    "Usage: status_page_demo [--port N] [--step-seconds S]\n"
    "Serves the status page and simulated recommender metrics on 127.0.0.1:N (0, the default, picks a free\n"
    "port). Each scrape of /metrics advances the simulated traffic by S seconds (default 2).\n";

int Run(int argc, char** argv) {
  int port = 0;
  double step_seconds = 2;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if ((arg == "--port" || arg == "--step-seconds") && i + 1 < argc) {
      char* end = nullptr;
      const double value = std::strtod(argv[++i], &end);
      if (*end != '\0' || value < 0 || (arg == "--port" && (value > 65535 || value != static_cast<int>(value)))) {
        std::fprintf(stderr, "status_page_demo: bad value '%s' for %s\n%s", argv[i], arg.c_str(), kUsage);
        return 2;
      }
      if (arg == "--port") {
        port = static_cast<int>(value);
      } else {
        step_seconds = value;
      }
      continue;
    }
    std::fprintf(stderr, "status_page_demo: unknown argument '%s'\n%s", arg.c_str(), kUsage);
    return 2;
  }

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::unique_ptr<prometheus::Exposer> exposer;
  try {
    exposer = std::make_unique<prometheus::Exposer>("127.0.0.1:" + std::to_string(port), /*num_threads=*/2,
                                                    StatusPageCallbacks());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "status_page_demo: cannot serve on 127.0.0.1:%d: %s\n", port, e.what());
    return 1;
  }
  auto server = std::make_shared<SimulatedServer>(step_seconds);
  exposer->RegisterCollectable(server);
  std::printf("status_page_demo: http://127.0.0.1:%d/status\n", exposer->GetListeningPorts().front());
  std::fflush(stdout);
  int signal = 0;
  sigwait(&signals, &signal);
  return 0;
}

}  // namespace
}  // namespace easymoney

int main(int argc, char** argv) { return easymoney::Run(argc, argv); }
