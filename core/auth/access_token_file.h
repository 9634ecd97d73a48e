#ifndef EASYMONEY_CORE_AUTH_ACCESS_TOKEN_FILE_H_
#define EASYMONEY_CORE_AUTH_ACCESS_TOKEN_FILE_H_

#include <atomic>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "core/auth/access_tokens.h"

namespace easymoney {

// The token file on disk, re-read when it changes so tokens can be added and
// revoked without a restart (a Kubernetes Secret update swaps the file under
// a symlink; an editor rewrites it in place: both change the stat identity).
//
//   auto file = AccessTokenFile::Open("/etc/recommender/tokens");
//   (*file)->ReloadIfChanged();                       // e.g. once a second
//   const TokenIdentity* who = (*file)->Current()->Find(token);
//
// A file that fails to parse on reload is reported once and the tokens
// already loaded stay in force: a typo must not lock every backend out. The
// file must be a regular file not writable by others (anyone who can write it
// can grant themselves admin).
//
// Thread-safe: Current() is lock-free and may be called on every request.
class AccessTokenFile {
 public:
  // Errors: NOT_FOUND, PERMISSION_DENIED (unreadable or writable by others),
  // INVALID_ARGUMENT (not a regular file, over 1 MiB, malformed).
  static absl::StatusOr<std::unique_ptr<AccessTokenFile>> Open(const std::string& path);

  // Re-reads the file if its identity, size or times changed since the last
  // look. Returns true when new tokens took effect, false when nothing
  // changed, and the error (once per change) when the new content was refused.
  absl::StatusOr<bool> ReloadIfChanged() ABSL_LOCKS_EXCLUDED(mu_);

  std::shared_ptr<const AccessTokens> Current() const { return tokens_.load(std::memory_order_acquire); }
  const std::string& path() const { return path_; }

 private:
  struct Stamp {
    uint64_t device = 0, inode = 0;
    int64_t size = -1, modified_ns = 0, changed_ns = 0;
    bool operator==(const Stamp&) const = default;
  };
  explicit AccessTokenFile(std::string path) : path_(std::move(path)) {}
  // Reads and parses the file; `stamp` receives what was read.
  absl::StatusOr<AccessTokens> Read(Stamp& stamp) const;

  const std::string path_;
  absl::Mutex mu_;  // Serialises reloads.
  Stamp last_seen_ ABSL_GUARDED_BY(mu_);
  std::atomic<std::shared_ptr<const AccessTokens>> tokens_;
};

}  // namespace easymoney

#endif  // EASYMONEY_CORE_AUTH_ACCESS_TOKEN_FILE_H_
