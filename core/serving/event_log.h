#ifndef EASYMONEY_CORE_SERVING_EVENT_LOG_H_
#define EASYMONEY_CORE_SERVING_EVENT_LOG_H_

// The durable, append-only log of served recommendations and feedback events
// (docs/kpis.md, "Event log").
//
// Layout: DIR/events-00000001.log, events-00000002.log, ... Each line is
//   <CRC-32 of the JSON, 8 lower-case hex digits> <EventRecord as JSON>\n
// A process never appends to a segment it did not create: it starts a new
// one, so a line torn by a crash can only be the last line of a segment, and
// readers skip lines whose checksum does not match. Segments are rotated at
// max_segment_bytes.
//
// Group commit: Append() queues a line; one writer thread writes everything
// queued so far with one write() and one fdatasync(), then runs the
// callbacks of those lines. A line whose callback reported OK is on disk.
// Lines appended without a callback (served answers) are gathered for up to
// 5 ms and synced with the next acknowledged batch or within a second: a
// crash can lose that last second of them, never an acknowledged line.
//
//   EventLog::Options options{.directory = "events"};
//   auto log = EventLog::Open(options);
//   (*log)->Append(FormatEventRecord(record), [](absl::Status s) { ... });

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "easymoney/model/v1/events.pb.h"

namespace easymoney {

// Thread-safe.
class EventLog {
 public:
  struct Options {
    std::string directory;
    int64_t max_segment_bytes = int64_t{64} << 20;
    // Called by the writer thread after each group commit with its fsync
    // time and number of lines; and on each failed write or fsync.
    std::function<void(double fsync_seconds, int lines)> on_commit;
    std::function<void()> on_error;
  };
  using Callback = absl::AnyInvocable<void(absl::Status) &&>;

  // Creates the directory if needed and starts a new segment after the
  // existing ones. Errors: the directory cannot be created or written.
  static absl::StatusOr<std::unique_ptr<EventLog>> Open(Options options);
  // Flushes what is queued, then stops the writer.
  ~EventLog();

  // Queues one line (without the newline; the checksum is added here).
  // `on_durable`, if set, runs on the writer thread once the line is on
  // disk (OK) or could not be written (UNAVAILABLE, with the reason).
  void Append(const std::string& json, Callback on_durable = nullptr) ABSL_LOCKS_EXCLUDED(mu_);

  // Blocks until everything appended before the call is on disk or failed.
  void Flush() ABSL_LOCKS_EXCLUDED(mu_);

  const std::string& directory() const { return options_.directory; }
  std::string current_segment() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  explicit EventLog(Options options);
  absl::Status OpenSegment(int64_t number) ABSL_EXCLUSIVE_LOCKS_REQUIRED(writer_mu_);
  // OK when the open segment is still the file at its path; otherwise opens
  // a new segment in the directory (UNAVAILABLE while that fails).
  absl::Status EnsureSegmentLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(writer_mu_);
  void WriterLoop();

  const Options options_;
  mutable absl::Mutex mu_;
  std::string pending_ ABSL_GUARDED_BY(mu_);
  std::vector<Callback> pending_callbacks_ ABSL_GUARDED_BY(mu_);
  int64_t appended_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t committed_ ABSL_GUARDED_BY(mu_) = 0;  // Lines written (or failed).
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::string segment_path_ ABSL_GUARDED_BY(mu_);

  // The writer thread's file; only it touches these after Open.
  absl::Mutex writer_mu_;
  int fd_ ABSL_GUARDED_BY(writer_mu_) = -1;
  int64_t segment_number_ ABSL_GUARDED_BY(writer_mu_) = 0;
  int64_t segment_bytes_ ABSL_GUARDED_BY(writer_mu_) = 0;
  std::string writer_segment_path_ ABSL_GUARDED_BY(writer_mu_);
  // The device of the directory when the log was opened.
  uint64_t directory_device_ ABSL_GUARDED_BY(writer_mu_) = 0;
  std::chrono::steady_clock::time_point last_sync_ ABSL_GUARDED_BY(writer_mu_);
  std::thread writer_;
};

// One line's JSON for `record` (protobuf JSON mapping, original field names).
std::string FormatEventRecord(const easymoney::model::v1::EventRecord& record);

struct EventLogReadStats {
  int64_t segments = 0;
  int64_t records = 0;
  int64_t skipped_lines = 0;  // Checksum mismatch or unparsable (torn by a crash).
};

// Calls `visit` for every intact record of every segment in `directory`, in
// order. Errors: the directory or a segment cannot be read.
absl::StatusOr<EventLogReadStats> ReadEventLog(
    const std::string& directory, const std::function<void(const easymoney::model::v1::EventRecord&)>& visit);

}  // namespace easymoney

#endif  // EASYMONEY_CORE_SERVING_EVENT_LOG_H_
