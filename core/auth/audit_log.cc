#include "core/auth/audit_log.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/util/json_string.h"

namespace easymoney {

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::Open(const std::string& path) {
  if (path.empty()) return std::unique_ptr<AuditLog>(new AuditLog(stderr, false));
  std::FILE* file = std::fopen(path.c_str(), "a");
  if (file == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("cannot open audit log ", path, ": ", std::strerror(errno)));
  }
  return std::unique_ptr<AuditLog>(new AuditLog(file, true));
}

AuditLog::~AuditLog() {
  if (owned_) std::fclose(file_);
}

void AuditLog::Record(const std::string& who, const std::string& action, const std::string& detail,
                      const absl::Status& result) {
  const std::string line = absl::StrCat(
      "{\"time\":", JsonString(absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone())),
      ",\"who\":", JsonString(who), ",\"action\":", JsonString(action), ",\"detail\":", JsonString(detail),
      ",\"result\":", JsonString(absl::StatusCodeToString(result.code())),
      ",\"message\":", JsonString(result.message()), "}\n");
  absl::MutexLock lock(&mu_);
  std::fwrite(line.data(), 1, line.size(), file_);
  std::fflush(file_);
  if (owned_) fsync(fileno(file_));
}

}  // namespace easymoney
