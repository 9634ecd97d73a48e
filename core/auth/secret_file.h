#ifndef EASYMONEY_CORE_AUTH_SECRET_FILE_H_
#define EASYMONEY_CORE_AUTH_SECRET_FILE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace easymoney {

// What identifies one content of a file: a Kubernetes Secret update swaps
// the file under a symlink, an editor rewrites it in place; both change it.
struct FileStamp {
  uint64_t device = 0, inode = 0;
  int64_t size = -1, modified_ns = 0, changed_ns = 0;
  bool operator==(const FileStamp&) const = default;
};

// Reads a secret file: a regular file of at most 1 MiB that others cannot
// write (anyone who can write it chooses the secrets). `kind` names it in
// errors ("token file"). `stamp` receives what was read. Errors: NOT_FOUND,
// PERMISSION_DENIED (unreadable or writable by others), INVALID_ARGUMENT
// (not a regular file, too large).
absl::StatusOr<std::string> ReadSecretFile(const std::string& path, absl::string_view kind, FileStamp& stamp);
// The stamp `path` has now (following symlinks); size -1 when it cannot be
// stat'ed.
FileStamp StampOf(const std::string& path);

// A secret file on disk, parsed into `Contents` and re-read when it
// changes, so secrets can be added and revoked without a restart.
//
//   auto file = SecretFile<AccessTokens>::Open("/etc/recommender/tokens");
//   (*file)->ReloadIfChanged();                       // e.g. once a second
//   const TokenIdentity* who = (*file)->Current()->Find(token);
//
// `Contents` has `static absl::StatusOr<Contents> Parse(absl::string_view)`,
// `int size() const`, and `static constexpr const char*` kFileKind ("token
// file") and kEntries ("tokens").
//
// A file that fails to parse on reload is reported once and the contents
// already loaded stay in force: a typo must not lock every backend out.
//
// Thread-safe: Current() is lock-free and may be called on every request.
template <typename Contents>
class SecretFile {
 public:
  // Errors: those of ReadSecretFile, and INVALID_ARGUMENT when malformed.
  static absl::StatusOr<std::unique_ptr<SecretFile>> Open(const std::string& path) {
    std::unique_ptr<SecretFile> file(new SecretFile(path));
    FileStamp stamp;
    absl::StatusOr<Contents> contents = file->Read(stamp);
    if (!contents.ok()) return contents.status();
    absl::MutexLock lock(&file->mu_);
    file->last_seen_ = stamp;
    file->contents_.store(std::make_shared<const Contents>(*std::move(contents)), std::memory_order_release);
    return file;
  }

  // Re-reads the file if its identity, size or times changed since the last
  // look. Returns true when new contents took effect, false when nothing
  // changed, and the error (once per change) when the new content was
  // refused.
  absl::StatusOr<bool> ReloadIfChanged() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    const FileStamp now = StampOf(path_);
    if (now.size >= 0 && now == last_seen_) return false;
    FileStamp stamp;
    absl::StatusOr<Contents> contents = Read(stamp);
    // A refused change is reported once, not on every look, until the file
    // changes again. (A missing file keeps size -1 and so is reported once.)
    const bool already_reported = stamp == last_seen_;
    last_seen_ = stamp;
    if (!contents.ok()) {
      if (already_reported) return false;
      return absl::Status(contents.status().code(),
                          absl::StrCat(contents.status().message(), "; keeping the ", Current()->size(), " ",
                                       Contents::kEntries, " already loaded"));
    }
    contents_.store(std::make_shared<const Contents>(*std::move(contents)), std::memory_order_release);
    return true;
  }

  std::shared_ptr<const Contents> Current() const { return contents_.load(std::memory_order_acquire); }
  const std::string& path() const { return path_; }

 private:
  explicit SecretFile(std::string path) : path_(std::move(path)) {}
  absl::StatusOr<Contents> Read(FileStamp& stamp) const {
    absl::StatusOr<std::string> text = ReadSecretFile(path_, Contents::kFileKind, stamp);
    if (!text.ok()) return text.status();
    absl::StatusOr<Contents> contents = Contents::Parse(*text);
    if (!contents.ok()) return absl::InvalidArgumentError(absl::StrCat(path_, ": ", contents.status().message()));
    return contents;
  }

  const std::string path_;
  absl::Mutex mu_;  // Serialises reloads.
  FileStamp last_seen_ ABSL_GUARDED_BY(mu_);
  std::atomic<std::shared_ptr<const Contents>> contents_;
};

}  // namespace easymoney

#endif  // EASYMONEY_CORE_AUTH_SECRET_FILE_H_
