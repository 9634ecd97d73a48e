#include "core/serving/canary_analysis.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_format.h"

namespace easymoney {

int WindowStats::LatencyBucket(double seconds) {
  if (!(seconds > 10e-6)) return 0;
  const int bucket = 1 + static_cast<int>(std::log(seconds / 10e-6) / std::log(1.25));
  return std::min(bucket, kLatencyBuckets - 1);
}

double WindowStats::BucketUpperBound(int bucket) { return 10e-6 * std::pow(1.25, bucket); }

void WindowStats::Record(Variant variant, bool server_error, double seconds, absl::Time now) {
  const int64_t epoch = absl::ToUnixSeconds(now);
  Second& second = seconds_[static_cast<int>(variant)][static_cast<size_t>(epoch % kMaxWindowSeconds)];
  int64_t seen = second.epoch.load(std::memory_order_acquire);
  if (seen != epoch && second.epoch.compare_exchange_strong(seen, epoch, std::memory_order_acq_rel)) {
    second.requests.store(0, std::memory_order_relaxed);
    second.errors.store(0, std::memory_order_relaxed);
    for (auto& count : second.latency) count.store(0, std::memory_order_relaxed);
  }
  second.requests.fetch_add(1, std::memory_order_relaxed);
  if (server_error) second.errors.fetch_add(1, std::memory_order_relaxed);
  second.latency[LatencyBucket(seconds)].fetch_add(1, std::memory_order_relaxed);
}

WindowStats::WindowSummary WindowStats::Summarise(Variant variant, absl::Duration window, absl::Time now) const {
  const int64_t newest = absl::ToUnixSeconds(now);
  const int64_t span = std::clamp<int64_t>(absl::ToInt64Seconds(window), 1, kMaxWindowSeconds);
  WindowSummary summary;
  std::array<int64_t, kLatencyBuckets> latency{};
  for (const Second& second : seconds_[static_cast<int>(variant)]) {
    const int64_t epoch = second.epoch.load(std::memory_order_acquire);
    if (epoch < 0 || epoch > newest || newest - epoch >= span) continue;
    summary.requests += second.requests.load(std::memory_order_relaxed);
    summary.server_errors += second.errors.load(std::memory_order_relaxed);
    for (int b = 0; b < kLatencyBuckets; ++b) latency[b] += second.latency[b].load(std::memory_order_relaxed);
  }
  int64_t total = 0;
  for (int64_t count : latency) total += count;
  if (total > 0) {
    const int64_t rank = static_cast<int64_t>(std::ceil(0.99 * static_cast<double>(total)));
    int64_t seen = 0;
    for (int b = 0; b < kLatencyBuckets; ++b) {
      seen += latency[b];
      if (seen >= rank) {
        summary.p99_seconds = BucketUpperBound(b);
        break;
      }
    }
  }
  return summary;
}

void WindowStats::Reset() {
  for (auto& variant : seconds_) {
    for (Second& second : variant) second.epoch.store(-1, std::memory_order_release);
  }
}

absl::Duration AnalysisWindow(const easymoney::model::v1::CanaryAnalysis& settings) {
  const int seconds = settings.window_seconds() > 0 ? settings.window_seconds() : 60;
  return absl::Seconds(std::min(seconds, WindowStats::kMaxWindowSeconds));
}

std::optional<std::string> CanaryVerdict(const WindowStats::WindowSummary& stable,
                                         const WindowStats::WindowSummary& canary,
                                         const easymoney::model::v1::CanaryAnalysis& settings) {
  const int64_t min_requests = settings.min_requests() > 0 ? settings.min_requests() : 100;
  if (stable.requests < min_requests || canary.requests < min_requests) return std::nullopt;
  const double max_increase = settings.max_error_ratio_increase() > 0 ? settings.max_error_ratio_increase() : 0.01;
  if (canary.error_ratio() - stable.error_ratio() > max_increase) {
    return absl::StrFormat(
        "canary server-error ratio %.4f exceeds stable %.4f by more than %.4f (%d and %d requests)",
        canary.error_ratio(), stable.error_ratio(), max_increase, canary.requests, stable.requests);
  }
  const double max_ratio = settings.max_p99_ratio() > 0 ? settings.max_p99_ratio() : 1.5;
  const double floor = settings.p99_floor_seconds() > 0 ? settings.p99_floor_seconds() : 0.001;
  if (canary.p99_seconds > max_ratio * stable.p99_seconds && canary.p99_seconds - stable.p99_seconds > floor) {
    return absl::StrFormat("canary p99 %.3f ms exceeds %.2fx stable p99 %.3f ms (%d and %d requests)",
                           1e3 * canary.p99_seconds, max_ratio, 1e3 * stable.p99_seconds, canary.requests,
                           stable.requests);
  }
  return std::nullopt;
}

}  // namespace easymoney
