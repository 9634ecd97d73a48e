#include "server/protobuf_log.h"

#include <atomic>
#include <cstdio>
#include <string>

#include <google/protobuf/stubs/logging.h>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"

namespace easymoney {
namespace {

std::atomic<int64_t> logged_lines{0};

struct PrintState {
  absl::Mutex mu;
  absl::Duration interval ABSL_GUARDED_BY(mu) = absl::Seconds(10);
  absl::Time last_printed ABSL_GUARDED_BY(mu) = absl::InfinitePast();
  int64_t left_out ABSL_GUARDED_BY(mu) = 0;
};

PrintState& State() {
  static PrintState* const state = new PrintState();
  return *state;
}

const char* LevelName(google::protobuf::LogLevel level) {
  switch (level) {
    case google::protobuf::LOGLEVEL_INFO:
      return "INFO";
    case google::protobuf::LOGLEVEL_WARNING:
      return "WARNING";
    case google::protobuf::LOGLEVEL_ERROR:
      return "ERROR";
    case google::protobuf::LOGLEVEL_FATAL:
      return "FATAL";
  }
  return "?";
}

void LimitedLog(google::protobuf::LogLevel level, const char* filename, int line, const std::string& message) {
  if (level == google::protobuf::LOGLEVEL_FATAL || level == google::protobuf::LOGLEVEL_INFO) {
    std::fprintf(stderr, "[libprotobuf %s %s:%d] %s\n", LevelName(level), filename, line, message.c_str());
    return;
  }
  logged_lines.fetch_add(1, std::memory_order_relaxed);
  PrintState& state = State();
  int64_t left_out = 0;
  {
    absl::MutexLock lock(&state.mu);
    const absl::Time now = absl::Now();
    if (now - state.last_printed < state.interval) {
      ++state.left_out;
      return;
    }
    state.last_printed = now;
    left_out = state.left_out;
    state.left_out = 0;
  }
  std::fprintf(stderr, "[libprotobuf %s %s:%d] %s (%lld more such lines left out since the last one printed; all "
               "counted in recommender_protobuf_log_lines_total)\n",
               LevelName(level), filename, line, message.c_str(), static_cast<long long>(left_out));
}

}  // namespace

void InstallProtobufLogLimiter(absl::Duration interval) {
  {
    PrintState& state = State();
    absl::MutexLock lock(&state.mu);
    state.interval = interval;
  }
  google::protobuf::SetLogHandler(&LimitedLog);
}

int64_t ProtobufLogLines() { return logged_lines.load(std::memory_order_relaxed); }

}  // namespace easymoney
