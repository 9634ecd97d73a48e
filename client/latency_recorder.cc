#include "client/latency_recorder.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace easymoney {
namespace {

// 2^kSubBucketBits buckets per power of two: relative resolution 1/128.
constexpr int kSubBucketBits = 7;
constexpr int64_t kSubBuckets = int64_t{1} << kSubBucketBits;
// Values below 2 * kSubBuckets have a bucket each; above, bucket index =
// shift * kSubBuckets + (value >> shift), where shift drops all but the top
// kSubBucketBits + 1 bits. The largest int64 needs shift 55.
constexpr int kMaxShift = 63 - (kSubBucketBits + 1);
constexpr int kNumBuckets = static_cast<int>((kMaxShift + 2) * kSubBuckets);

}  // namespace

LatencyRecorder::LatencyRecorder() : bucket_counts_(kNumBuckets, 0) {}

int LatencyRecorder::BucketIndex(int64_t nanoseconds) {
  const auto value = static_cast<uint64_t>(nanoseconds);
  if (value < 2 * kSubBuckets) return static_cast<int>(value);
  const int shift = std::bit_width(value) - (kSubBucketBits + 1);
  return static_cast<int>(shift * kSubBuckets + static_cast<int64_t>(value >> shift));
}

int64_t LatencyRecorder::BucketUpperBound(int index) {
  if (index < 2 * kSubBuckets) return index;
  const int shift = static_cast<int>(index / kSubBuckets) - 1;
  const int64_t mantissa = index - shift * kSubBuckets;
  return ((mantissa + 1) << shift) - 1;
}

void LatencyRecorder::Record(absl::Duration latency) {
  const int64_t nanoseconds = std::max<int64_t>(0, absl::ToInt64Nanoseconds(latency));
  ++bucket_counts_[BucketIndex(nanoseconds)];
  min_nanoseconds_ = count_ == 0 ? nanoseconds : std::min(min_nanoseconds_, nanoseconds);
  max_nanoseconds_ = std::max(max_nanoseconds_, nanoseconds);
  sum_nanoseconds_ += static_cast<double>(nanoseconds);
  ++count_;
}

void LatencyRecorder::Merge(const LatencyRecorder& other) {
  if (other.count_ == 0) return;
  for (int i = 0; i < kNumBuckets; ++i) bucket_counts_[i] += other.bucket_counts_[i];
  min_nanoseconds_ = count_ == 0 ? other.min_nanoseconds_ : std::min(min_nanoseconds_, other.min_nanoseconds_);
  max_nanoseconds_ = std::max(max_nanoseconds_, other.max_nanoseconds_);
  sum_nanoseconds_ += other.sum_nanoseconds_;
  count_ += other.count_;
}

absl::Duration LatencyRecorder::mean() const {
  if (count_ == 0) return absl::ZeroDuration();
  return absl::Nanoseconds(sum_nanoseconds_ / static_cast<double>(count_));
}

absl::Duration LatencyRecorder::Percentile(double percent) const {
  if (count_ == 0) return absl::ZeroDuration();
  const double clamped = std::clamp(percent, 0.0, 100.0);
  // The rank of the sample at `percent`, 1-based: ceil(p/100 * n), at least 1.
  // The relative slack keeps 99.9 * 1000 / 100 from rounding up past 999.
  const double exact_rank = clamped * static_cast<double>(count_) / 100.0;
  const auto rank = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(exact_rank * (1 - 1e-12))));
  int64_t seen = 0;
  for (int i = 0; i < kNumBuckets; ++i) {
    seen += bucket_counts_[i];
    if (seen >= rank) return absl::Nanoseconds(std::min(BucketUpperBound(i), max_nanoseconds_));
  }
  return max();
}

}  // namespace easymoney
