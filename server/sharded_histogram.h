#ifndef EASYMONEY_SERVER_SHARDED_HISTOGRAM_H_
#define EASYMONEY_SERVER_SHARDED_HISTOGRAM_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/labels.h>
#include <prometheus/metric_family.h>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace easymoney {

// A Prometheus histogram family for request latencies whose Observe() takes
// no lock. prometheus-cpp's Histogram::Observe locks one mutex per series,
// so every request of a (version, variant) pair would serialise on it; here
// each series keeps kShards copies of its counters, a thread always writes
// the same shard, and the counters are relaxed atomics. Scrapes sum the
// shards (a scrape may see an observation's count before its sum, which
// Prometheus' rate() tolerates).
//
// Observed values are seconds; the sum is kept in integer nanoseconds so it
// can be added atomically (fetch_add on a double is a CAS loop).
//
// Thread-safe. Series handles stay valid until Remove() or the family's
// destruction.
class ShardedHistogramFamily : public prometheus::Collectable {
 public:
  static constexpr int kShards = 16;

  class Series {
   public:
    // Made by ShardedHistogramFamily::Add.
    Series(prometheus::Labels labels, const std::vector<double>& bounds);

    // Lock-free; allocation-free.
    void Observe(double seconds);

   private:
    friend class ShardedHistogramFamily;

    struct alignas(64) Shard {
      // buckets + 1 (the last is +Inf), then the sum in nanoseconds.
      std::unique_ptr<std::atomic<uint64_t>[]> counts;
      std::atomic<uint64_t> sum_nanos{0};
    };
    const prometheus::Labels labels_;
    const std::vector<double>& bounds_;
    std::array<Shard, kShards> shards_;
  };

  // `bounds`: ascending upper bounds in seconds (+Inf is implicit).
  ShardedHistogramFamily(std::string name, std::string help, std::vector<double> bounds);

  // A new series with these labels (the caller keeps label sets unique).
  Series* Add(prometheus::Labels labels) ABSL_LOCKS_EXCLUDED(mu_);
  // Drops a series from the exposition; `series` is invalid afterwards.
  void Remove(Series* series) ABSL_LOCKS_EXCLUDED(mu_);

  std::vector<prometheus::MetricFamily> Collect() const override ABSL_LOCKS_EXCLUDED(mu_);

 private:
  const std::string name_;
  const std::string help_;
  const std::vector<double> bounds_;
  mutable absl::Mutex mu_;
  std::list<Series> series_ ABSL_GUARDED_BY(mu_);
};

}  // namespace easymoney

#endif  // EASYMONEY_SERVER_SHARDED_HISTOGRAM_H_
