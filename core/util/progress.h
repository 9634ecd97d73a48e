#ifndef EASYMONEY_CORE_UTIL_PROGRESS_H_
#define EASYMONEY_CORE_UTIL_PROGRESS_H_

#include <chrono>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"


namespace easymoney {

// A progress line on stderr for long-running tools.
//
//   ProgressLine progress("reading customer_products.csv", total_rows);
//   for (...) progress.Update(++done);
//   progress.Finish();
//
// On a terminal the line redraws in place at most a few times a second; when
// stderr is a file or pipe (CI logs) it prints one line per 10% instead, so
// logs stay readable. Not thread-safe: one thread updates it.
class ProgressLine {
 public:
  // `total` <= 0 means unknown; then only the count and rate are shown.
  ProgressLine(absl::string_view task, int64_t total);
  ~ProgressLine();

  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  void Update(int64_t done);
  // Prints the final line with the elapsed time. Called by the destructor if
  // not called before.
  void Finish();

 private:
  void Print(bool final_line);

  std::string task_;
  int64_t total_;
  int64_t done_ = 0;
  int last_decile_ = -1;
  bool finished_ = false;
  bool is_terminal_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_print_;
};

}  // namespace easymoney

#endif  // EASYMONEY_CORE_UTIL_PROGRESS_H_
