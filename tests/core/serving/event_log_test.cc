#include "core/serving/event_log.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "tests/testing/test_model.h"

namespace easymoney {
namespace {

namespace fs = std::filesystem;
using easymoney::model::v1::EventRecord;

// A path that does not exist yet, in a directory removed after the test.
std::string TempDir(const std::string& name) {
  return (fs::path(easymoney::testing::MakeTempDir(name)) / "log").string();
}

EventRecord Feedback(int i) {
  EventRecord record;
  record.set_kind("feedback");
  record.set_time_unix_ms(1700000000000 + i);
  record.set_request_id(absl::StrCat("r", i));
  record.set_model_version(3);
  record.set_variant("stable");
  record.set_customer_id(absl::StrCat(15000 + i));
  record.set_product_id("debit_card");
  record.set_event("conversion");
  return record;
}

EventLog::Options Opts(const std::string& dir, int64_t max_segment_bytes = int64_t{64} << 20) {
  EventLog::Options options;
  options.directory = dir;
  options.max_segment_bytes = max_segment_bytes;
  return options;
}

std::vector<EventRecord> ReadAll(const std::string& dir, EventLogReadStats* stats = nullptr) {
  std::vector<EventRecord> out;
  auto read = ReadEventLog(dir, [&](const EventRecord& r) { out.push_back(r); });
  EXPECT_TRUE(read.ok()) << read.status();
  if (stats != nullptr && read.ok()) *stats = *read;
  return out;
}

TEST(EventLog, AcknowledgesAfterWritingAndReadsBackInOrder) {
  const std::string dir = TempDir("event_log_basic");
  std::atomic<int> acknowledged{0};
  std::atomic<int> commits{0};
  {
    EventLog::Options options = Opts(dir);
    options.on_commit = [&](double, int) { ++commits; };
    auto log = EventLog::Open(options);
    ASSERT_TRUE(log.ok()) << log.status();
    for (int i = 0; i < 100; ++i) {
      (*log)->Append(FormatEventRecord(Feedback(i)), [&](absl::Status status) {
        EXPECT_TRUE(status.ok()) << status;
        ++acknowledged;
      });
    }
    (*log)->Flush();
    EXPECT_EQ(acknowledged.load(), 100);
    // Group commit: far fewer fsyncs than lines is possible, never more.
    EXPECT_GE(commits.load(), 1);
    EXPECT_LE(commits.load(), 100);
  }
  EventLogReadStats stats;
  const auto records = ReadAll(dir, &stats);
  ASSERT_EQ(records.size(), 100u);
  EXPECT_EQ(stats.skipped_lines, 0);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(records[i].request_id(), absl::StrCat("r", i));
    EXPECT_EQ(records[i].model_version(), 3);
    EXPECT_EQ(records[i].event(), "conversion");
  }
}

// Appends one line and waits for its verdict.
absl::Status AppendAndWait(EventLog& log, int i) {
  absl::Status verdict;
  std::atomic<bool> done{false};
  log.Append(FormatEventRecord(Feedback(i)), [&](absl::Status status) {
    verdict = status;
    done = true;
  });
  log.Flush();
  EXPECT_TRUE(done.load());
  return verdict;
}

// The directory deleted (or its volume unmounted) while the server runs:
// nothing is acknowledged that a reader of the directory would not find,
// and once the directory is back the log writes there again.
TEST(EventLog, AcknowledgesNothingWhileItsDirectoryIsGone) {
  const std::string dir = TempDir("event_log_vanished");
  std::atomic<int> errors{0};
  EventLog::Options options = Opts(dir);
  options.on_error = [&] { ++errors; };
  auto log = EventLog::Open(options);
  ASSERT_TRUE(log.ok()) << log.status();
  ASSERT_TRUE(AppendAndWait(**log, 0).ok());
  fs::remove_all(dir);
  for (int i = 1; i <= 3; ++i) {
    const absl::Status refused = AppendAndWait(**log, i);
    EXPECT_TRUE(absl::IsUnavailable(refused)) << refused;
  }
  EXPECT_GE(errors.load(), 3);
  fs::create_directories(dir);
  ASSERT_TRUE(AppendAndWait(**log, 4).ok());
  const auto records = ReadAll(dir);
  ASSERT_EQ(records.size(), 1u) << "only what was acknowledged after the directory came back";
  EXPECT_EQ(records[0].request_id(), "r4");
}

// A segment removed by hand is not written to in the dark: the next lines
// go to a new segment that readers find.
TEST(EventLog, StartsANewSegmentWhenItsSegmentIsRemoved) {
  const std::string dir = TempDir("event_log_unlinked");
  auto log = EventLog::Open(Opts(dir));
  ASSERT_TRUE(log.ok()) << log.status();
  ASSERT_TRUE(AppendAndWait(**log, 0).ok());
  const std::string first = (*log)->current_segment();
  fs::remove(first);
  ASSERT_TRUE(AppendAndWait(**log, 1).ok());
  EXPECT_NE((*log)->current_segment(), first);
  const auto records = ReadAll(dir);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].request_id(), "r1");
}

TEST(EventLog, RotatesSegmentsAndNeverAppendsToAnOldOne) {
  const std::string dir = TempDir("event_log_rotate");
  for (int run = 0; run < 2; ++run) {
    auto log = EventLog::Open(Opts(dir, 2000));
    ASSERT_TRUE(log.ok());
    for (int i = 0; i < 60; ++i) {
      (*log)->Append(FormatEventRecord(Feedback(run * 60 + i)));
      if (i % 10 == 9) (*log)->Flush();
    }
    (*log)->Flush();
  }
  int segments = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    EXPECT_THAT(entry.path().filename().string(), ::testing::MatchesRegex("events-[0-9]{8}\\.log"));
    ++segments;
  }
  EXPECT_GE(segments, 4);
  const auto records = ReadAll(dir);
  ASSERT_EQ(records.size(), 120u);
  for (int i = 0; i < 120; ++i) EXPECT_EQ(records[i].request_id(), absl::StrCat("r", i));
}

TEST(EventLog, ReadersSkipTornAndCorruptLines) {
  const std::string dir = TempDir("event_log_torn");
  std::string segment;
  {
    auto log = EventLog::Open(Opts(dir));
    ASSERT_TRUE(log.ok());
    for (int i = 0; i < 3; ++i) (*log)->Append(FormatEventRecord(Feedback(i)));
    (*log)->Flush();
    segment = (*log)->current_segment();
  }
  {
    std::ofstream out(segment, std::ios::app);
    out << "deadbeef {\"kind\":\"feedback\"}\n";  // Checksum mismatch.
    out << "0000";                               // Torn by a crash.
  }
  EventLogReadStats stats;
  EXPECT_EQ(ReadAll(dir, &stats).size(), 3u);
  EXPECT_EQ(stats.skipped_lines, 2);
  // A restarted log writes a new segment: the torn tail stays the last line
  // of the old one and later lines are intact.
  {
    auto log = EventLog::Open(Opts(dir));
    ASSERT_TRUE(log.ok());
    EXPECT_NE((*log)->current_segment(), segment);
    (*log)->Append(FormatEventRecord(Feedback(3)));
    (*log)->Flush();
  }
  EXPECT_EQ(ReadAll(dir, &stats).size(), 4u);
}

TEST(EventLog, FailsClearlyWhenTheDirectoryCannotBeCreated) {
  const std::string file = TempDir("event_log_file");
  std::ofstream(file) << "x";
  auto log = EventLog::Open(Opts(file + "/sub"));
  ASSERT_FALSE(log.ok());
  EXPECT_THAT(std::string(log.status().message()), ::testing::HasSubstr("cannot create"));
}

// A process killed with SIGKILL while appending loses nothing it
// acknowledged: the child reports each acknowledged index over a pipe, the
// parent kills it mid-stream and reads the log.
TEST(EventLog, SigkillLosesNothingAcknowledged) {
  const std::string dir = TempDir("event_log_kill");
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    auto log = EventLog::Open(Opts(dir));
    if (!log.ok()) _exit(2);
    for (int i = 0;; ++i) {
      (*log)->Append(FormatEventRecord(Feedback(i)), [fd = fds[1], i](absl::Status status) {
        if (status.ok()) (void)!write(fd, &i, sizeof(i));
      });
      if (i % 50 == 49) usleep(1000);
    }
  }
  close(fds[1]);
  std::set<int> acknowledged;
  int index = 0;
  while (acknowledged.size() < 3000 && read(fds[0], &index, sizeof(index)) == sizeof(index)) {
    acknowledged.insert(index);
  }
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  // Acknowledgements already in the pipe when the child died count too.
  while (read(fds[0], &index, sizeof(index)) == sizeof(index)) acknowledged.insert(index);
  close(fds[0]);
  ASSERT_GE(acknowledged.size(), 3000u);
  std::set<int> on_disk;
  for (const EventRecord& record : ReadAll(dir)) on_disk.insert(std::stoi(record.request_id().substr(1)));
  for (int i : acknowledged) ASSERT_TRUE(on_disk.contains(i)) << "acknowledged event " << i << " lost";
}

}  // namespace
}  // namespace easymoney
