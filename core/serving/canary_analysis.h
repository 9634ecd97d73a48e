#ifndef EASYMONEY_CORE_SERVING_CANARY_ANALYSIS_H_
#define EASYMONEY_CORE_SERVING_CANARY_ANALYSIS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "core/serving/canary_router.h"
#include "easymoney/model/v1/routing.pb.h"

namespace easymoney {

// Request counts, server-side errors and a latency histogram per variant
// over a sliding window of one-second buckets, for automatic canary
// analysis.
//
//   stats.Record(Variant::kCanary, /*server_error=*/false, 0.0004, absl::Now());
//   WindowSummary canary = stats.Summarise(Variant::kCanary, absl::Seconds(60), absl::Now());
//
// Thread-safe and lock-free: Record is a few relaxed atomic increments. A
// bucket is recycled by the first request of a new second; requests racing
// with that reset may be lost, which skews a window by a handful of
// requests at most.
class WindowStats {
 public:
  static constexpr int kMaxWindowSeconds = 300;

  struct WindowSummary {
    int64_t requests = 0;
    int64_t server_errors = 0;
    double p99_seconds = 0;
    double error_ratio() const { return requests > 0 ? static_cast<double>(server_errors) / requests : 0; }
  };

  void Record(Variant variant, bool server_error, double seconds, absl::Time now);
  WindowSummary Summarise(Variant variant, absl::Duration window, absl::Time now) const;
  // Forgets everything (a new rollout starts from a clean window).
  void Reset();

 private:
  // Log-spaced latency buckets: bucket b holds [10us * 1.25^(b-1), 10us * 1.25^b).
  static constexpr int kLatencyBuckets = 64;
  struct Second {
    std::atomic<int64_t> epoch{-1};
    std::atomic<int64_t> requests{0};
    std::atomic<int64_t> errors{0};
    std::array<std::atomic<int64_t>, kLatencyBuckets> latency{};
  };
  static int LatencyBucket(double seconds);
  static double BucketUpperBound(int bucket);

  std::array<std::array<Second, kMaxWindowSeconds>, kNumVariants> seconds_;
};

// The verdict of canary analysis: a reason to roll back, or nullopt when the
// canary is not worse (or there is not enough traffic yet to say).
// `settings` zero values mean the defaults documented in routing.proto.
std::optional<std::string> CanaryVerdict(const WindowStats::WindowSummary& stable,
                                         const WindowStats::WindowSummary& canary,
                                         const easymoney::model::v1::CanaryAnalysis& settings);

// Window length with the default applied and clamped to what WindowStats keeps.
absl::Duration AnalysisWindow(const easymoney::model::v1::CanaryAnalysis& settings);

}  // namespace easymoney

#endif  // EASYMONEY_CORE_SERVING_CANARY_ANALYSIS_H_
