#include "core/util/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace easymoney {

absl::StatusOr<OpenedFile> OpenRegularFile(const std::string& path, absl::string_view name) {
  // O_NONBLOCK: a FIFO in place of the file must not block the open until a
  // writer comes; it is refused below. Regular files ignore the flag.
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    const int error = errno;
    const std::string message = absl::StrCat(name, ": ", std::strerror(error));
    return error == ENOENT ? absl::NotFoundError(message) : absl::InvalidArgumentError(message);
  }
  struct stat info;
  if (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    close(fd);
    return absl::InvalidArgumentError(absl::StrCat(name, ": not a regular file"));
  }
  return OpenedFile{fd, static_cast<uint64_t>(info.st_size)};
}

absl::StatusOr<std::string> ReadFileToString(const std::string& path) {
  auto opened = OpenRegularFile(path, path);
  if (!opened.ok()) return opened.status();
  const int fd = opened->fd;
  std::string contents(static_cast<size_t>(opened->size), '\0');
  size_t done = 0;
  while (done < contents.size()) {
    const ssize_t got = read(fd, contents.data() + done, contents.size() - done);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      close(fd);
      return absl::InvalidArgumentError(absl::StrCat(path, ": read failed after ", done,
                                                     " bytes: ", std::strerror(errno)));
    }
    done += static_cast<size_t>(got);
  }
  close(fd);
  return contents;
}

absl::Status WriteStringToFile(const std::string& path, absl::string_view contents) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::InternalError(absl::StrCat("cannot create ", path, ": ", std::strerror(errno)));
  }
  size_t done = 0;
  while (done < contents.size()) {
    const ssize_t wrote = write(fd, contents.data() + done, contents.size() - done);
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote <= 0) {
      const std::string error = std::strerror(errno);
      close(fd);
      return absl::InternalError(absl::StrCat("write to ", path, " failed: ", error));
    }
    done += static_cast<size_t>(wrote);
  }
  const bool synced = fsync(fd) == 0;
  const int sync_error = errno;
  const bool closed = close(fd) == 0;
  if (!synced || !closed) {
    return absl::InternalError(
        absl::StrCat(synced ? "close" : "fsync", " of ", path, " failed: ", std::strerror(synced ? errno : sync_error)));
  }
  return absl::OkStatus();
}

}  // namespace easymoney
