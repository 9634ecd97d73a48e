#include "core/model/mapped_file.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "core/model/npy.h"

namespace easymoney {

absl::StatusOr<MappedFile> MappedFile::Open(const std::string& path, absl::string_view name) {
  auto opened = OpenRegularFile(path, name);
  if (!opened.ok()) return opened.status();
  const int fd = opened->fd;
  absl::Cleanup closer = [fd] { close(fd); };
  const size_t size = static_cast<size_t>(opened->size);
  if (size == 0) return MappedFile();
  // MAP_POPULATE maps every page now, in one pass through the page cache,
  // instead of one minor fault per 64 kB later on the request path.
  void* data = mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
  if (data == MAP_FAILED) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": cannot be mapped: ", std::strerror(errno)));
  }
  // Requests read rows in no particular order; read-ahead would only fetch
  // neighbours nobody asked for if pages are ever evicted and read again.
  madvise(data, size, MADV_RANDOM);
  return MappedFile(data, size);
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr) munmap(data_, size_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) munmap(data_, size_);
}

}  // namespace easymoney
