#ifndef EASYMONEY_CORE_MODEL_MAPPED_FILE_H_
#define EASYMONEY_CORE_MODEL_MAPPED_FILE_H_

// A regular file mapped read-only into memory, so that a model version's
// large arrays are used where the page cache already holds them: no copy, no
// fresh anonymous memory to fault in (on a VM that hands freed pages back to
// its host, faulting in 1.3 GB of new memory costs seconds; mapping pages
// already cached does not).
//
//   auto file = MappedFile::Open("models/3/customer_factors.npy", "customer_factors.npy");
//   if (!file.ok()) return file.status();
//   absl::string_view bytes = file->bytes();
//
// The mapping is private and read-only. Its bytes are the file's as long as
// nobody changes the file in place: a version's files are immutable once
// published (writers create new files and rename them), and truncating a
// mapped file would make reads past the new end fault (SIGBUS). Unlinking or
// renaming the file is harmless; the mapping keeps the inode alive.
//
// Thread-safe: immutable after Open, so any number of threads may read it.

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace easymoney {

class MappedFile {
 public:
  // Maps `path`. `name` labels error messages. The pages are populated (read
  // from the page cache or the disk) before Open returns, so the first
  // request that touches a row does not wait for the disk. Errors:
  // NOT_FOUND for a missing file; INVALID_ARGUMENT for anything that is not
  // a regular file (a directory or FIFO is refused without blocking) or
  // cannot be mapped.
  static absl::StatusOr<MappedFile> Open(const std::string& path, absl::string_view name);

  MappedFile() = default;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  // The whole file (empty for an empty file, which is not mapped).
  absl::string_view bytes() const { return {static_cast<const char*>(data_), size_}; }

 private:
  MappedFile(void* data, size_t size) : data_(data), size_(size) {}

  void* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace easymoney

#endif  // EASYMONEY_CORE_MODEL_MAPPED_FILE_H_
