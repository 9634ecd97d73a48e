#include "core/auth/access_token_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

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

}  // namespace

absl::StatusOr<std::unique_ptr<AccessTokenFile>> AccessTokenFile::Open(const std::string& path) {
  std::unique_ptr<AccessTokenFile> file(new AccessTokenFile(path));
  Stamp stamp;
  absl::StatusOr<AccessTokens> tokens = file->Read(stamp);
  if (!tokens.ok()) return tokens.status();
  absl::MutexLock lock(&file->mu_);
  file->last_seen_ = stamp;
  file->tokens_.store(std::make_shared<const AccessTokens>(*std::move(tokens)), std::memory_order_release);
  return file;
}

absl::StatusOr<AccessTokens> AccessTokenFile::Read(Stamp& stamp) const {
  // O_NONBLOCK: a FIFO put in the file's place must not hang the caller.
  const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    const int error = errno;
    const std::string message = absl::StrCat("token file ", path_, ": ", std::strerror(error));
    if (error == ENOENT) return absl::NotFoundError(message);
    if (error == EACCES) return absl::PermissionDeniedError(message);
    return absl::InvalidArgumentError(message);
  }
  FileCloser closer(fd);
  struct stat info;
  if (::fstat(fd, &info) != 0) return absl::InternalError(absl::StrCat("token file ", path_, ": fstat failed"));
  stamp.device = info.st_dev;
  stamp.inode = info.st_ino;
  stamp.size = info.st_size;
  stamp.modified_ns = int64_t{info.st_mtim.tv_sec} * 1'000'000'000 + info.st_mtim.tv_nsec;
  stamp.changed_ns = int64_t{info.st_ctim.tv_sec} * 1'000'000'000 + info.st_ctim.tv_nsec;
  if (!S_ISREG(info.st_mode)) return absl::InvalidArgumentError(absl::StrCat("token file ", path_, ": not a regular file"));
  if ((info.st_mode & S_IWOTH) != 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("token file ", path_, " is writable by every user: anyone could grant themselves admin (chmod o-w)"));
  }
  if (info.st_size > kMaxFileBytes) {
    return absl::InvalidArgumentError(absl::StrCat("token file ", path_, ": over 1 MiB"));
  }
  std::string text(static_cast<size_t>(info.st_size), '\0');
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t got = ::read(fd, text.data() + done, text.size() - done);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return absl::InternalError(absl::StrCat("token file ", path_, ": ", std::strerror(errno)));
    if (got == 0) break;  // Truncated while reading: parse what is there; the stamp changes again.
    done += static_cast<size_t>(got);
  }
  text.resize(done);
  absl::StatusOr<AccessTokens> tokens = AccessTokens::Parse(text);
  if (!tokens.ok()) return absl::InvalidArgumentError(absl::StrCat(path_, ": ", tokens.status().message()));
  return tokens;
}

absl::StatusOr<bool> AccessTokenFile::ReloadIfChanged() {
  absl::MutexLock lock(&mu_);
  struct stat info;
  // stat follows symlinks, so a Secret's ..data swap shows as a new inode.
  if (::stat(path_.c_str(), &info) == 0) {
    Stamp now;
    now.device = info.st_dev;
    now.inode = info.st_ino;
    now.size = info.st_size;
    now.modified_ns = int64_t{info.st_mtim.tv_sec} * 1'000'000'000 + info.st_mtim.tv_nsec;
    now.changed_ns = int64_t{info.st_ctim.tv_sec} * 1'000'000'000 + info.st_ctim.tv_nsec;
    if (now == last_seen_) return false;
  }
  Stamp stamp;
  absl::StatusOr<AccessTokens> tokens = Read(stamp);
  // A refused change is reported once, not on every look, until the file
  // changes again. (A missing file keeps size -1 and so is reported once.)
  const bool already_reported = stamp == last_seen_;
  last_seen_ = stamp;
  if (!tokens.ok()) {
    if (already_reported) return false;
    return absl::Status(tokens.status().code(),
                        absl::StrCat(tokens.status().message(), "; keeping the ", Current()->size(),
                                     " tokens already loaded"));
  }
  tokens_.store(std::make_shared<const AccessTokens>(*std::move(tokens)), std::memory_order_release);
  return true;
}

}  // namespace easymoney
