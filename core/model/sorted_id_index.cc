#include "core/model/sorted_id_index.h"

#include <limits>

namespace easymoney {

namespace {
constexpr uint64_t kRowsPerBucket = 8;
}  // namespace

SortedIdIndex::SortedIdIndex(std::span<const int64_t> ids) : ids_(ids) {
  if (ids_.empty() || ids_.size() > std::numeric_limits<uint32_t>::max()) return;
  span_ = static_cast<uint64_t>(ids_.back()) - static_cast<uint64_t>(ids_.front());
  const uint64_t target_buckets = std::max<uint64_t>(1, ids_.size() / kRowsPerBucket);
  // The smallest shift that keeps the bucket count at or below the target.
  while (shift_ < 63 && (span_ >> shift_) >= target_buckets) ++shift_;
  const uint64_t buckets = (span_ >> shift_) + 1;
  bucket_start_.assign(buckets + 1, 0);
  const uint64_t front = static_cast<uint64_t>(ids_.front());
  uint64_t next_bucket = 0;  // Every bucket before it has its start set.
  for (size_t row = 0; row < ids_.size(); ++row) {
    const uint64_t bucket = (static_cast<uint64_t>(ids_[row]) - front) >> shift_;
    while (next_bucket <= bucket) bucket_start_[next_bucket++] = static_cast<uint32_t>(row);
  }
  while (next_bucket <= buckets) bucket_start_[next_bucket++] = static_cast<uint32_t>(ids_.size());
}

}  // namespace easymoney
