#include "core/serving/event_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <google/protobuf/util/json_util.h>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "core/model/npy.h"

namespace easymoney {
namespace {

namespace fs = std::filesystem;
using easymoney::model::v1::EventRecord;

constexpr absl::string_view kPrefix = "events-";
// Served answers (no caller waits) are gathered this long or up to this many
// bytes before a write, and synced at least this often.
constexpr absl::Duration kLinger = absl::Milliseconds(5);
constexpr size_t kLingerBytes = 256 * 1024;
constexpr auto kMaxUnsynced = std::chrono::seconds(1);
constexpr absl::string_view kSuffix = ".log";

std::string SegmentName(int64_t number) { return absl::StrFormat("events-%08d.log", number); }

// The segment number of a file name, or -1.
int64_t SegmentNumber(const std::string& name) {
  if (name.size() != kPrefix.size() + 8 + kSuffix.size() || !absl::StartsWith(name, kPrefix) ||
      !absl::EndsWith(name, kSuffix)) {
    return -1;
  }
  int64_t number = 0;
  if (!absl::SimpleAtoi(absl::string_view(name).substr(kPrefix.size(), 8), &number)) return -1;
  return number;
}

absl::StatusOr<std::vector<std::pair<int64_t, std::string>>> ListSegments(const std::string& directory) {
  std::error_code error;
  std::vector<std::pair<int64_t, std::string>> segments;
  for (const auto& entry : fs::directory_iterator(directory, error)) {
    const int64_t number = SegmentNumber(entry.path().filename().string());
    if (number >= 0) segments.emplace_back(number, entry.path().string());
  }
  if (error) return absl::UnavailableError(absl::StrCat("cannot list ", directory, ": ", error.message()));
  std::sort(segments.begin(), segments.end());
  return segments;
}

uint32_t Crc(absl::string_view bytes) {
  return static_cast<uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size())));
}

absl::Status WriteAll(int fd, absl::string_view bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t wrote = write(fd, bytes.data() + done, bytes.size() - done);
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote <= 0) return absl::UnavailableError(absl::StrCat("event log write failed: ", std::strerror(errno)));
    done += static_cast<size_t>(wrote);
  }
  return absl::OkStatus();
}

absl::Status SyncDirectory(const std::string& directory) {
  const int fd = open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return absl::UnavailableError(absl::StrCat("cannot open ", directory, ": ", std::strerror(errno)));
  const int result = fsync(fd);
  close(fd);
  if (result != 0) return absl::UnavailableError(absl::StrCat("cannot fsync ", directory, ": ", std::strerror(errno)));
  return absl::OkStatus();
}

}  // namespace

EventLog::EventLog(Options options) : options_(std::move(options)) {}

absl::StatusOr<std::unique_ptr<EventLog>> EventLog::Open(Options options) {
  if (options.directory.empty()) return absl::InvalidArgumentError("event log directory is empty");
  std::error_code error;
  fs::create_directories(options.directory, error);
  if (error) {
    return absl::UnavailableError(absl::StrCat("cannot create event log directory ", options.directory, ": ",
                                               error.message()));
  }
  auto segments = ListSegments(options.directory);
  if (!segments.ok()) return segments.status();
  std::unique_ptr<EventLog> log(new EventLog(std::move(options)));
  {
    absl::MutexLock lock(&log->writer_mu_);
    struct stat directory;
    if (stat(log->options_.directory.c_str(), &directory) == 0) log->directory_device_ = directory.st_dev;
    const int64_t next = segments->empty() ? 1 : segments->back().first + 1;
    if (auto status = log->OpenSegment(next); !status.ok()) return status;
  }
  log->writer_ = std::thread([raw = log.get()] { raw->WriterLoop(); });
  return log;
}

EventLog::~EventLog() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (writer_.joinable()) writer_.join();
  absl::MutexLock lock(&writer_mu_);
  if (fd_ >= 0) close(fd_);
}

absl::Status EventLog::OpenSegment(int64_t number) {
  std::string path;
  int fd = -1;
  // Another process sharing the directory may have taken the number: take
  // the next free one (O_EXCL: never append to someone else's segment).
  for (int attempt = 0; attempt < 1000; ++attempt, ++number) {
    path = (fs::path(options_.directory) / SegmentName(number)).string();
    fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0640);
    if (fd >= 0 || errno != EEXIST) break;
  }
  if (fd < 0) return absl::UnavailableError(absl::StrCat("cannot create ", path, ": ", std::strerror(errno)));
  // The new name must survive a crash too, or fsync'd lines could vanish
  // with it.
  if (auto status = SyncDirectory(options_.directory); !status.ok()) {
    close(fd);
    return status;
  }
  if (fd_ >= 0) close(fd_);
  fd_ = fd;
  segment_number_ = number;
  segment_bytes_ = 0;
  writer_segment_path_ = path;
  absl::MutexLock lock(&mu_);
  segment_path_ = path;
  return absl::OkStatus();
}

absl::Status EventLog::EnsureSegmentLocked() {
  struct stat open_file;
  struct stat on_path;
  // Lines written to a segment that is no longer at its path (unlinked with
  // its directory, or hidden by an unmounted volume) are lost to every
  // reader of the directory: such a segment is abandoned, and nothing is
  // acknowledged until a new one can be created there.
  if (fd_ >= 0 && fstat(fd_, &open_file) == 0 && open_file.st_nlink > 0 &&
      stat(writer_segment_path_.c_str(), &on_path) == 0 && on_path.st_ino == open_file.st_ino &&
      on_path.st_dev == open_file.st_dev) {
    return absl::OkStatus();
  }
  if (fd_ >= 0) {
    std::fprintf(stderr, "event log: segment %s is gone from its directory; starting a new one\n",
                 writer_segment_path_.c_str());
    close(fd_);
    fd_ = -1;
  }
  // The directory is not recreated, and a directory on another device than
  // the one opened is refused: where the log's volume was unmounted, the
  // mount point left behind is on another disk than the readers'.
  struct stat directory;
  if (stat(options_.directory.c_str(), &directory) == 0 && directory.st_dev != directory_device_) {
    return absl::UnavailableError(absl::StrCat("event log directory ", options_.directory,
                                               " is on another device than when it was opened (unmounted?)"));
  }
  return OpenSegment(segment_number_ + 1);
}

std::string EventLog::current_segment() const {
  absl::MutexLock lock(&mu_);
  return segment_path_;
}

void EventLog::Append(const std::string& json, Callback on_durable) {
  char prefix[10];
  absl::SNPrintF(prefix, sizeof(prefix), "%08x ", Crc(json));
  absl::MutexLock lock(&mu_);
  pending_.append(prefix, 9);
  pending_.append(json);
  pending_.push_back('\n');
  ++appended_;
  if (on_durable) pending_callbacks_.push_back(std::move(on_durable));
}

void EventLog::Flush() {
  absl::MutexLock lock(&mu_);
  const int64_t target = appended_;
  const auto done = [this, target]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return committed_ >= target; };
  mu_.Await(absl::Condition(&done));
}

void EventLog::WriterLoop() {
  std::string batch;
  std::vector<Callback> callbacks;
  for (;;) {
    int64_t lines = 0;
    {
      absl::MutexLock lock(&mu_);
      const auto ready = [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return !pending_.empty() || stopping_; };
      mu_.Await(absl::Condition(&ready));
      // Only lines without a waiting caller (served answers): gather for a
      // few milliseconds so a busy server writes a few large batches, not
      // one tiny write per request; a waiting caller ends the wait.
      const auto urgent = [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
        return !pending_callbacks_.empty() || stopping_ || pending_.size() >= kLingerBytes;
      };
      if (!urgent()) mu_.AwaitWithTimeout(absl::Condition(&urgent), kLinger);
      if (pending_.empty()) return;  // Stopping with nothing left.
      // Swapping keeps both buffers' capacity: no allocation per batch.
      batch.swap(pending_);
      callbacks.swap(pending_callbacks_);
      lines = appended_ - committed_;
    }
    absl::Status status;
    double fsync_seconds = 0;
    bool synced = false;
    {
      absl::MutexLock lock(&writer_mu_);
      status = EnsureSegmentLocked();
      if (status.ok()) status = WriteAll(fd_, batch);
      if (status.ok()) {
        segment_bytes_ += static_cast<int64_t>(batch.size());
        // Acknowledged lines are synced before their callers hear OK; lines
        // nobody waits for are synced with the next acknowledged batch or
        // at least every kMaxUnsynced, not once per batch.
        const auto start = std::chrono::steady_clock::now();
        if (!callbacks.empty() || start - last_sync_ >= kMaxUnsynced) {
          if (fdatasync(fd_) != 0) {
            status = absl::UnavailableError(absl::StrCat("event log fdatasync failed: ", std::strerror(errno)));
          }
          last_sync_ = std::chrono::steady_clock::now();
          fsync_seconds = std::chrono::duration<double>(last_sync_ - start).count();
          synced = true;
        }
      }
      // After a failure the segment may end in a partial line: continue in
      // a new one so later lines start on a line boundary. Also rotate.
      if (!status.ok() || segment_bytes_ >= options_.max_segment_bytes) {
        if (auto opened = OpenSegment(segment_number_ + 1); !opened.ok() && status.ok()) {
          // This batch is on disk; the next one will fail until a segment
          // can be created.
          if (options_.on_error) options_.on_error();
          close(fd_);
          fd_ = -1;
        }
      }
    }
    if (status.ok()) {
      if (synced && options_.on_commit) options_.on_commit(fsync_seconds, static_cast<int>(lines));
    } else if (options_.on_error) {
      options_.on_error();
    }
    for (Callback& callback : callbacks) std::move(callback)(status);
    callbacks.clear();
    batch.clear();
    absl::MutexLock lock(&mu_);
    committed_ += lines;
  }
}

std::string FormatEventRecord(const EventRecord& record) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  // EventRecord has only plain fields; printing cannot fail.
  (void)google::protobuf::util::MessageToJsonString(record, &json, options);
  return json;
}

absl::StatusOr<EventLogReadStats> ReadEventLog(const std::string& directory,
                                               const std::function<void(const EventRecord&)>& visit) {
  auto segments = ListSegments(directory);
  if (!segments.ok()) return segments.status();
  EventLogReadStats stats;
  EventRecord record;
  for (const auto& [number, path] : *segments) {
    auto contents = ReadFileToString(path);
    if (!contents.ok()) return contents.status();
    ++stats.segments;
    for (absl::string_view line : absl::StrSplit(*contents, '\n', absl::SkipEmpty())) {
      uint32_t expected = 0;
      if (line.size() < 10 || line[8] != ' ' || !absl::SimpleHexAtoi(line.substr(0, 8), &expected) ||
          Crc(line.substr(9)) != expected) {
        ++stats.skipped_lines;
        continue;
      }
      record.Clear();
      if (!google::protobuf::util::JsonStringToMessage(std::string(line.substr(9)), &record).ok()) {
        ++stats.skipped_lines;
        continue;
      }
      ++stats.records;
      visit(record);
    }
  }
  return stats;
}

}  // namespace easymoney
