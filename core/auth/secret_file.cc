#include "core/auth/secret_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace easymoney {
namespace {

constexpr int64_t kMaxFileBytes = int64_t{1} << 20;

class FileCloser {
 public:
  explicit FileCloser(int fd) : fd_(fd) {}
  ~FileCloser() { ::close(fd_); }

 private:
  const int fd_;
};

FileStamp StampFrom(const struct stat& info) {
  return FileStamp{.device = info.st_dev,
                   .inode = info.st_ino,
                   .size = info.st_size,
                   .modified_ns = int64_t{info.st_mtim.tv_sec} * 1'000'000'000 + info.st_mtim.tv_nsec,
                   .changed_ns = int64_t{info.st_ctim.tv_sec} * 1'000'000'000 + info.st_ctim.tv_nsec};
}

}  // namespace

FileStamp StampOf(const std::string& path) {
  struct stat info;
  // stat follows symlinks, so a Secret's ..data swap shows as a new inode.
  if (::stat(path.c_str(), &info) != 0) return FileStamp{};
  return StampFrom(info);
}

absl::StatusOr<std::string> ReadSecretFile(const std::string& path, absl::string_view kind, FileStamp& stamp) {
  // O_NONBLOCK: a FIFO put in the file's place must not hang the caller.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    const int error = errno;
    const std::string message = absl::StrCat(kind, " ", path, ": ", std::strerror(error));
    if (error == ENOENT) return absl::NotFoundError(message);
    if (error == EACCES) return absl::PermissionDeniedError(message);
    return absl::InvalidArgumentError(message);
  }
  FileCloser closer(fd);
  struct stat info;
  if (::fstat(fd, &info) != 0) return absl::InternalError(absl::StrCat(kind, " ", path, ": fstat failed"));
  stamp = StampFrom(info);
  if (!S_ISREG(info.st_mode)) return absl::InvalidArgumentError(absl::StrCat(kind, " ", path, ": not a regular file"));
  if ((info.st_mode & S_IWOTH) != 0) {
    return absl::PermissionDeniedError(absl::StrCat(
        kind, " ", path, " is writable by every user: anyone could put their own secrets in it (chmod o-w)"));
  }
  if (info.st_size > kMaxFileBytes) return absl::InvalidArgumentError(absl::StrCat(kind, " ", path, ": over 1 MiB"));
  std::string text(static_cast<size_t>(info.st_size), '\0');
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t got = ::read(fd, text.data() + done, text.size() - done);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return absl::InternalError(absl::StrCat(kind, " ", path, ": ", std::strerror(errno)));
    if (got == 0) break;  // Truncated while reading: parse what is there; the stamp changes again.
    done += static_cast<size_t>(got);
  }
  text.resize(done);
  return text;
}

}  // namespace easymoney
