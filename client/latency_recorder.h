#ifndef EASYMONEY_CLIENT_LATENCY_RECORDER_H_
#define EASYMONEY_CLIENT_LATENCY_RECORDER_H_

#include <cstdint>
#include <vector>

#include "absl/time/time.h"

namespace easymoney {

// A log-linear latency histogram in the manner of HdrHistogram: values below
// 256 ns are kept exactly, larger ones in 128 buckets per power of two, so a
// reported percentile is at most 1/128 (0.8%) above the exact one and never
// below it. Memory is fixed (about 58 KB) whatever the number of samples.
//
//   LatencyRecorder latencies;
//   latencies.Record(absl::Microseconds(830));
//   absl::Duration p99 = latencies.Percentile(99);
//
// Invariants: Percentile(q) is non-decreasing in q, and Percentile(100) ==
// max(). Negative durations are recorded as zero.
// Thread-compatible: guard a shared recorder with a mutex, or keep one per
// thread and Merge() them.
class LatencyRecorder {
 public:
  LatencyRecorder();

  void Record(absl::Duration latency);
  // Adds every sample of `other` to this recorder.
  void Merge(const LatencyRecorder& other);

  int64_t count() const { return count_; }
  // Exact extremes and mean; zero when empty.
  absl::Duration min() const { return count_ == 0 ? absl::ZeroDuration() : absl::Nanoseconds(min_nanoseconds_); }
  absl::Duration max() const { return absl::Nanoseconds(max_nanoseconds_); }
  absl::Duration mean() const;

  // The smallest bucket bound that at least `percent` (0..100) of the samples
  // do not exceed, capped at max(). Zero when empty.
  absl::Duration Percentile(double percent) const;

 private:
  static int BucketIndex(int64_t nanoseconds);
  static int64_t BucketUpperBound(int index);

  std::vector<int64_t> bucket_counts_;
  int64_t count_ = 0;
  int64_t min_nanoseconds_ = 0;
  int64_t max_nanoseconds_ = 0;
  // double: a sum of a few million latencies in ns may exceed int64 only in
  // absurd runs, but a double never overflows and its rounding is irrelevant.
  double sum_nanoseconds_ = 0;
};

}  // namespace easymoney

#endif  // EASYMONEY_CLIENT_LATENCY_RECORDER_H_
