#ifndef EASYMONEY_CORE_SERVING_FEEDBACK_RECORDER_H_
#define EASYMONEY_CORE_SERVING_FEEDBACK_RECORDER_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/serving/canary_router.h"
#include "core/serving/event_log.h"
#include "core/serving/request_id.h"
#include "core/model/model.h"

namespace easymoney {

enum class FeedbackEvent { kImpression, kClick, kConversion };
inline constexpr int kNumFeedbackEvents = 3;
const char* FeedbackEventName(FeedbackEvent event);  // "impression", ...

struct FeedbackInput {
  absl::string_view request_id;
  absl::string_view customer_id;
  absl::string_view product_id;
  FeedbackEvent event = FeedbackEvent::kImpression;
  int64_t model_version = 0;
  Variant variant = Variant::kStable;
  int64_t time_unix_ms = 0;
};

// Why feedback was refused (counted per reason, kept out of the log and KPIs).
enum class FeedbackRefusal {
  kNotIssued,     // The request_id is not one this service signed for the customer.
  kNotInAnswer,   // Version, variant or product differ from the answer's.
  kOutsideWindow  // Served too long ago, or an event time before the answer or in the future.
};
inline constexpr int kNumFeedbackRefusals = 3;
const char* FeedbackRefusalName(FeedbackRefusal refusal);  // "not_issued", ...

// Validates feedback events, drops duplicates and writes the rest durably to
// the event log (the caller is told only once the event is on disk).
//
// Feedback is accepted only about an answer this service gave: the
// request_id must verify (RequestIdSigner) for the customer_id, and name
// the model_version, variant and a product of that answer; the answer must
// be at most `window` old and the event time between the answer and now
// (each with `clock_skew` of slack).
//
// A duplicate is the same (request_id, event, product_id) as an event already
// recorded; recent keys (the last `dedup_capacity` to 2x that) are kept in
// memory and re-read from the log at startup, so a retried event is not
// counted twice even across a restart. A second copy that arrives while the
// first is still being written is refused with ABORTED (retry), never
// acknowledged before the first is on disk.
//
// Thread-safe.
class FeedbackRecorder {
 public:
  struct Options {
    absl::Duration window = absl::Hours(24 * 30);
    absl::Duration clock_skew = absl::Minutes(5);
    size_t dedup_capacity = size_t{1} << 20;
  };
  FeedbackRecorder(EventLog* log, const RequestIdSigner* request_ids, Options options);

  // Remembers the keys of the feedback already in the log. Returns how many
  // records were read.
  absl::StatusOr<int64_t> LoadHistory() ABSL_LOCKS_EXCLUDED(mu_);

  // Makes `model`'s version and catalogue known, so feedback about what it
  // recommended is accepted. Call for every version that serves.
  void AddVersion(const Model& model) ABSL_LOCKS_EXCLUDED(mu_);

  // Result: true when the event was a duplicate (not written again).
  using Done = absl::AnyInvocable<void(absl::StatusOr<bool>) &&>;
  // Validates `input` (INVALID_ARGUMENT naming the field), then either
  // answers at once (error, duplicate) or after the log's group commit, on
  // the log's writer thread.
  void Record(const FeedbackInput& input, Done done) ABSL_LOCKS_EXCLUDED(mu_);

  // Feedback refused for `refusal` so far.
  int64_t refused(FeedbackRefusal refusal) const {
    return refused_[static_cast<int>(refusal)].load(std::memory_order_relaxed);
  }

 private:
  static std::string Key(absl::string_view request_id, absl::string_view event, absl::string_view product_id);
  // The refusal of `input` as an error, or OK when it is about an answer
  // this service gave.
  absl::Status CheckAgainstAnswer(const FeedbackInput& input) ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status Refuse(FeedbackRefusal refusal, absl::Status status);
  bool SeenLocked(const std::string& key) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RememberLocked(std::string key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  EventLog* const log_;
  const RequestIdSigner* const request_ids_;
  const Options options_;
  mutable absl::Mutex mu_;
  // Version -> its catalogue: product id -> index.
  std::map<int64_t, absl::flat_hash_map<std::string, int32_t>> catalogues_ ABSL_GUARDED_BY(mu_);
  std::atomic<int64_t> refused_[kNumFeedbackRefusals] = {};
  // Two generations: when `current_` is full it becomes `previous_`.
  absl::flat_hash_set<std::string> current_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<std::string> previous_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<std::string> in_flight_ ABSL_GUARDED_BY(mu_);
};

}  // namespace easymoney

#endif  // EASYMONEY_CORE_SERVING_FEEDBACK_RECORDER_H_
