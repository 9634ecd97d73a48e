#ifndef EASYMONEY_TESTS_FUZZ_FUZZ_CHECK_H_
#define EASYMONEY_TESTS_FUZZ_FUZZ_CHECK_H_

// What the fuzz targets (tests/fuzz/*_fuzzer.cc) assert. A failed check
// aborts, which libFuzzer reports as a crash with the input that caused it,
// and which fails the corpus replay test (fuzz_corpus_replay).

#include <cstdio>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/string_view.h"

#define FUZZ_CHECK(condition)                                                                   \
  do {                                                                                          \
    if (!(condition)) {                                                                         \
      std::fprintf(stderr, "%s:%d: fuzz check failed: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                             \
    }                                                                                           \
  } while (false)

namespace easymoney::fuzz {

// Error messages reach logs and proto3 string fields (ListVersions' reason,
// BatchResult.message), so whatever the input, they must be printable ASCII
// (a subset of UTF-8) apart from line breaks.
inline bool IsPrintableText(absl::string_view text) {
  for (char c : text) {
    if (!absl::ascii_isprint(c) && !absl::ascii_isspace(c)) return false;
  }
  return true;
}

}  // namespace easymoney::fuzz

#endif  // EASYMONEY_TESTS_FUZZ_FUZZ_CHECK_H_
