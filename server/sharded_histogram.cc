#include "server/sharded_histogram.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace easymoney {
namespace {

// Each thread writes one shard, chosen round-robin when it first observes,
// so two serving threads never share a cache line of counters.
int ThreadShard() {
  static std::atomic<int> next{0};
  thread_local const int shard =
      next.fetch_add(1, std::memory_order_relaxed) % ShardedHistogramFamily::kShards;
  return shard;
}

}  // namespace

ShardedHistogramFamily::Series::Series(prometheus::Labels labels, const std::vector<double>& bounds)
    : labels_(std::move(labels)), bounds_(bounds) {
  for (Shard& shard : shards_) {
    shard.counts = std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1);
    for (size_t i = 0; i <= bounds_.size(); ++i) shard.counts[i].store(0, std::memory_order_relaxed);
  }
}

void ShardedHistogramFamily::Series::Observe(double seconds) {
  // Prometheus buckets are "less than or equal to the upper bound".
  const size_t bucket =
      static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), seconds) - bounds_.begin());
  Shard& shard = shards_[ThreadShard()];
  shard.counts[bucket].fetch_add(1, std::memory_order_relaxed);
  const double nanos = seconds > 0 ? std::round(seconds * 1e9) : 0.0;
  shard.sum_nanos.fetch_add(static_cast<uint64_t>(std::min(nanos, 1e18)), std::memory_order_relaxed);
}

ShardedHistogramFamily::ShardedHistogramFamily(std::string name, std::string help, std::vector<double> bounds)
    : name_(std::move(name)), help_(std::move(help)), bounds_(std::move(bounds)) {}

ShardedHistogramFamily::Series* ShardedHistogramFamily::Add(prometheus::Labels labels) {
  absl::MutexLock lock(&mu_);
  // Series is neither copyable nor movable (atomics); build it in place.
  series_.emplace_back(std::move(labels), bounds_);
  return &series_.back();
}

void ShardedHistogramFamily::Remove(Series* series) {
  absl::MutexLock lock(&mu_);
  series_.remove_if([series](const Series& s) { return &s == series; });
}

std::vector<prometheus::MetricFamily> ShardedHistogramFamily::Collect() const {
  prometheus::MetricFamily family;
  family.name = name_;
  family.help = help_;
  family.type = prometheus::MetricType::Histogram;
  absl::MutexLock lock(&mu_);
  for (const Series& series : series_) {
    prometheus::ClientMetric metric;
    for (const auto& [name, value] : series.labels_) metric.label.push_back({name, value});
    std::vector<uint64_t> counts(bounds_.size() + 1, 0);
    uint64_t sum_nanos = 0;
    for (const auto& shard : series.shards_) {
      for (size_t i = 0; i < counts.size(); ++i) counts[i] += shard.counts[i].load(std::memory_order_relaxed);
      sum_nanos += shard.sum_nanos.load(std::memory_order_relaxed);
    }
    uint64_t cumulative = 0;
    for (size_t i = 0; i < counts.size(); ++i) {
      cumulative += counts[i];
      metric.histogram.bucket.push_back(
          {cumulative, i < bounds_.size() ? bounds_[i] : std::numeric_limits<double>::infinity()});
    }
    metric.histogram.sample_count = cumulative;
    metric.histogram.sample_sum = static_cast<double>(sum_nanos) * 1e-9;
    family.metric.push_back(std::move(metric));
  }
  return {std::move(family)};
}

}  // namespace easymoney
