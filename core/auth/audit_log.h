#ifndef EASYMONEY_CORE_AUTH_AUDIT_LOG_H_
#define EASYMONEY_CORE_AUTH_AUDIT_LOG_H_

#include <cstdio>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace easymoney {

// An append-only record of administrative actions, one JSON object per line:
//   {"time":"2026-11-23T10:00:00.123Z","who":"alice","action":"Rollback",
//    "detail":"","result":"OK","message":""}
// Each record is flushed and fsynced before Record returns.
//
//   auto log = AuditLog::Open("/var/log/recommender/audit.log");  // "" = stderr
//   (*log)->Record("alice", "PromoteCanary", "", absl::OkStatus());
//
// Thread-safe.
class AuditLog {
 public:
  // Appends to `path`, creating it; an empty path writes to stderr.
  static absl::StatusOr<std::unique_ptr<AuditLog>> Open(const std::string& path);
  ~AuditLog();

  void Record(const std::string& who, const std::string& action, const std::string& detail,
              const absl::Status& result) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  explicit AuditLog(std::FILE* file, bool owned) : file_(file), owned_(owned) {}

  absl::Mutex mu_;
  std::FILE* const file_ ABSL_PT_GUARDED_BY(mu_);
  const bool owned_;
};

}  // namespace easymoney

#endif  // EASYMONEY_CORE_AUTH_AUDIT_LOG_H_
