#include "absl/strings/string_view.h"
#include "core/util/progress.h"

#include <unistd.h>

#include <cstdio>

namespace easymoney {

ProgressLine::ProgressLine(absl::string_view task, int64_t total)
    : task_(task),
      total_(total),
      is_terminal_(isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()),
      last_print_(start_) {}

ProgressLine::~ProgressLine() { Finish(); }

void ProgressLine::Update(int64_t done) {
  done_ = done;
  if (is_terminal_) {
    const auto now = std::chrono::steady_clock::now();
    if (now - last_print_ < std::chrono::milliseconds(200)) return;
    last_print_ = now;
    Print(false);
    return;
  }
  if (total_ <= 0) return;
  const int decile = static_cast<int>(10 * done_ / total_);
  if (decile != last_decile_ && decile < 10) {
    last_decile_ = decile;
    Print(false);
  }
}

void ProgressLine::Finish() {
  if (finished_) return;
  finished_ = true;
  Print(true);
}

void ProgressLine::Print(bool final_line) {
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = seconds > 0 ? static_cast<double>(done_) / seconds : 0.0;
  const char* prefix = is_terminal_ ? "\r\033[K" : "";
  const char* suffix = (final_line || !is_terminal_) ? "\n" : "";
  if (total_ > 0) {
    const double percent = 100.0 * static_cast<double>(done_) / static_cast<double>(total_);
    std::fprintf(stderr, "%s%s: %lld/%lld (%.0f%%) %.1fs %.0f/s%s%s", prefix, task_.c_str(),
                 static_cast<long long>(done_), static_cast<long long>(total_), percent, seconds,
                 rate, final_line ? " done" : "", suffix);
  } else {
    std::fprintf(stderr, "%s%s: %lld %.1fs %.0f/s%s%s", prefix, task_.c_str(),
                 static_cast<long long>(done_), seconds, rate, final_line ? " done" : "", suffix);
  }
  std::fflush(stderr);
}

}  // namespace easymoney
