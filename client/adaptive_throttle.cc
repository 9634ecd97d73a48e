#include "client/adaptive_throttle.h"

#include <algorithm>

namespace easymoney {

AdaptiveThrottle::AdaptiveThrottle(const Options& options)
    : multiplier_(std::max(1.0, options.accepts_multiplier)),
      bucket_width_(options.window / std::max(1, options.buckets)),
      buckets_(static_cast<size_t>(std::max(1, options.buckets))) {}

AdaptiveThrottle::Bucket& AdaptiveThrottle::Current(absl::Time now) {
  const int64_t index = absl::ToUnixNanos(now) / std::max<int64_t>(1, absl::ToInt64Nanoseconds(bucket_width_));
  Bucket& bucket = buckets_[static_cast<size_t>(index % static_cast<int64_t>(buckets_.size()))];
  if (bucket.index != index) bucket = Bucket{index, 0, 0};
  return bucket;
}

double AdaptiveThrottle::ProbabilityLocked(absl::Time now) {
  const int64_t newest = Current(now).index;
  const auto oldest = newest - static_cast<int64_t>(buckets_.size()) + 1;
  int64_t requests = 0;
  int64_t accepts = 0;
  for (const Bucket& bucket : buckets_) {
    if (bucket.index < oldest || bucket.index > newest) continue;
    requests += bucket.requests;
    accepts += bucket.accepts;
  }
  const double excess = static_cast<double>(requests) - multiplier_ * static_cast<double>(accepts);
  return std::max(0.0, excess / static_cast<double>(requests + 1));
}

double AdaptiveThrottle::Request(absl::Time now) {
  absl::MutexLock lock(&mu_);
  const double probability = ProbabilityLocked(now);
  ++Current(now).requests;
  return probability;
}

bool AdaptiveThrottle::Admit(absl::Time now, double draw) { return draw >= Request(now); }

void AdaptiveThrottle::Record(absl::Time now, bool accepted) {
  if (!accepted) return;
  absl::MutexLock lock(&mu_);
  ++Current(now).accepts;
}

double AdaptiveThrottle::RefusalProbability(absl::Time now) {
  absl::MutexLock lock(&mu_);
  return ProbabilityLocked(now);
}

}  // namespace easymoney
