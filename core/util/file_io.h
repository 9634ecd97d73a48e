#ifndef EASYMONEY_CORE_UTIL_FILE_IO_H_
#define EASYMONEY_CORE_UTIL_FILE_IO_H_

// Whole-file reads and durable writes, for the model format's readers and
// writers, routing.json and the event log. Stateless; thread-safe.

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace easymoney {

// Opens `path` for reading and returns its descriptor (the caller closes it)
// and size. Refuses anything but a regular file without blocking: a FIFO in
// place of the file would otherwise block the open until a writer came.
// `name` labels error messages. Errors: NOT_FOUND for a missing file,
// INVALID_ARGUMENT otherwise.
struct OpenedFile {
  int fd;
  uint64_t size;
};
absl::StatusOr<OpenedFile> OpenRegularFile(const std::string& path, absl::string_view name);

// Reads a whole file into memory.
absl::StatusOr<std::string> ReadFileToString(const std::string& path);
// Writes `contents` to `path` and fsyncs it, so a later rename publishes
// complete bytes.
absl::Status WriteStringToFile(const std::string& path, absl::string_view contents);

}  // namespace easymoney

#endif  // EASYMONEY_CORE_UTIL_FILE_IO_H_
