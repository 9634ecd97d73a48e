#include "absl/strings/string_view.h"
#include "core/util/csv_reader.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace easymoney {
namespace {

constexpr size_t kBufferBytes = 1 << 20;

}  // namespace

CsvReader::CsvReader(std::string path, std::FILE* file, int64_t file_size,
                     std::vector<std::string> columns)
    : path_(std::move(path)), file_(file), file_size_(file_size), columns_(std::move(columns)) {
  buffer_.resize(kBufferBytes);
}

CsvReader::~CsvReader() { std::fclose(file_); }

absl::StatusOr<std::unique_ptr<CsvReader>> CsvReader::Open(
    const std::string& path, std::span<const absl::string_view> expected_columns) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    const std::string message = absl::StrCat(path, ": ", std::strerror(errno));
    return errno == ENOENT ? absl::NotFoundError(message) : absl::InvalidArgumentError(message);
  }
  struct stat info;
  const int64_t size = fstat(fileno(file), &info) == 0 ? info.st_size : 0;
  std::vector<std::string> columns(expected_columns.begin(), expected_columns.end());
  std::unique_ptr<CsvReader> reader(new CsvReader(path, file, size, std::move(columns)));

  absl::string_view header;
  if (!reader->NextLine(&header)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": empty file, expected a header row"));
  }
  std::vector<absl::string_view> names = absl::StrSplit(header, ',');
  for (size_t i = 0; i < expected_columns.size(); ++i) {
    if (i >= names.size() || names[i] != expected_columns[i]) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ":1: header column ", i + 1, " is '", i < names.size() ? names[i] : "(missing)",
          "', expected '", expected_columns[i], "' (expected header: ",
          absl::StrJoin(expected_columns, ","), ")"));
    }
  }
  return reader;
}

bool CsvReader::NextLine(absl::string_view* line) {
  while (true) {
    const char* begin = buffer_.data() + buffer_begin_;
    const size_t available = buffer_end_ - buffer_begin_;
    const void* newline = std::memchr(begin, '\n', available);
    if (newline != nullptr || (eof_ && available > 0)) {
      const size_t length =
          newline != nullptr ? static_cast<size_t>(static_cast<const char*>(newline) - begin)
                             : available;
      *line = absl::string_view(begin, length);
      if (!line->empty() && line->back() == '\r') line->remove_suffix(1);
      const size_t consumed = newline != nullptr ? length + 1 : length;
      buffer_begin_ += consumed;
      bytes_consumed_ += static_cast<int64_t>(consumed);
      ++line_number_;
      return true;
    }
    if (eof_) return false;
    // Move the partial line to the front and refill behind it; grow the
    // buffer when a single line is longer than it.
    std::memmove(buffer_.data(), begin, available);
    buffer_begin_ = 0;
    buffer_end_ = available;
    if (buffer_end_ == buffer_.size()) buffer_.resize(buffer_.size() * 2);
    const size_t got =
        std::fread(buffer_.data() + buffer_end_, 1, buffer_.size() - buffer_end_, file_);
    if (got == 0) eof_ = true;
    buffer_end_ += got;
  }
}

absl::StatusOr<bool> CsvReader::Next() {
  absl::string_view line;
  do {
    if (!NextLine(&line)) {
      if (std::ferror(file_)) return absl::DataLossError(absl::StrCat(path_, ": read error"));
      return false;
    }
  } while (line.empty());
  fields_.clear();
  size_t start = 0;
  while (true) {
    const size_t comma = line.find(',', start);
    if (comma == absl::string_view::npos) {
      fields_.push_back(line.substr(start));
      break;
    }
    fields_.push_back(line.substr(start, comma - start));
    start = comma + 1;
  }
  if (fields_.size() < columns_.size()) {
    return absl::InvalidArgumentError(absl::StrCat(path_, ":", line_number_, ": ", fields_.size(),
                                                   " fields, expected ", columns_.size()));
  }
  return true;
}

absl::Status CsvReader::FieldError(int column, absl::string_view problem) const {
  return absl::InvalidArgumentError(absl::StrCat(path_, ":", line_number_, ": column '",
                                                 columns_[column], "' value '",
                                                 absl::CHexEscape(fields_[column].substr(0, 80)),
                                                 "': ", problem));
}

}  // namespace easymoney
