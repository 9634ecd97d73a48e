#ifndef EASYMONEY_CORE_UTIL_CSV_READER_H_
#define EASYMONEY_CORE_UTIL_CSV_READER_H_

#include <cstdint>
#include <cstdio>
#include <memory>
#include <span>
#include <string>

#include <vector>

#include "absl/strings/string_view.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace easymoney {

// Streams a comma-separated file with a header row, one record at a time.
//
//   auto reader = CsvReader::Open("customer_products.csv", {"pk_cid", "pk_partition"});
//   while (true) {
//     absl::StatusOr<bool> more = (*reader)->Next();
//     if (!more.ok()) return more.status();
//     if (!*more) break;
//     absl::string_view cid = (*reader)->field(0);
//   }
//
// The easyMoney tables never quote fields, so neither does this reader: a
// field is everything between two commas. Blank lines are skipped; "\r\n"
// endings are accepted. Errors carry file, line, column and value, e.g.
// "customer_products.csv:17: column 'age' value 'abc': not an integer".
// Not thread-safe.
class CsvReader {
 public:
  // Opens `path` and checks that the header starts with `expected_columns`
  // in that order (extra trailing columns are allowed and ignored).
  static absl::StatusOr<std::unique_ptr<CsvReader>> Open(
      const std::string& path, std::span<const absl::string_view> expected_columns);
  ~CsvReader();

  // Advances to the next record. false at end of file. A record with fewer
  // fields than the expected columns is an INVALID_ARGUMENT error.
  absl::StatusOr<bool> Next();

  absl::string_view field(int column) const { return fields_[column]; }
  int64_t line_number() const { return line_number_; }
  // Bytes consumed so far and the file's size, for progress reporting.
  int64_t bytes_read() const { return bytes_consumed_; }
  int64_t file_size() const { return file_size_; }

  // An INVALID_ARGUMENT status naming file, line, column and value.
  absl::Status FieldError(int column, absl::string_view problem) const;

 private:
  CsvReader(std::string path, std::FILE* file, int64_t file_size,
            std::vector<std::string> columns);
  // Returns the next line without its terminator, or false at end of file.
  bool NextLine(absl::string_view* line);

  const std::string path_;
  std::FILE* const file_;
  const int64_t file_size_;
  const std::vector<std::string> columns_;
  std::vector<char> buffer_;
  size_t buffer_begin_ = 0;
  size_t buffer_end_ = 0;
  bool eof_ = false;
  int64_t line_number_ = 0;
  int64_t bytes_consumed_ = 0;
  std::vector<absl::string_view> fields_;
};

}  // namespace easymoney

#endif  // EASYMONEY_CORE_UTIL_CSV_READER_H_
