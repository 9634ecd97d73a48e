#include "core/serving/routing_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "core/util/proto_json.h"
#include "core/util/file_io.h"

namespace easymoney {

namespace fs = std::filesystem;

absl::StatusOr<easymoney::model::v1::RoutingConfig> ParseRoutingJson(absl::string_view json) {
  easymoney::model::v1::RoutingConfig config;
  if (auto status = ParseProtoJson(json, &config); !status.ok()) return status;
  // Written so that NaN ("NaN" is valid JSON for a double) is refused too.
  if (!(config.canary_percent() >= 0 && config.canary_percent() <= 100) ||
      !(config.shadow_percent() >= 0 && config.shadow_percent() <= 100)) {
    return absl::InvalidArgumentError(absl::StrCat("canary_percent ", config.canary_percent(), " or shadow_percent ",
                                                   config.shadow_percent(), " is outside 0..100"));
  }
  return config;
}

RoutingFile::RoutingFile(const std::string& model_base)
    : model_base_(model_base), path_((fs::path(model_base) / "routing.json").string()) {}

absl::StatusOr<std::optional<easymoney::model::v1::RoutingConfig>> RoutingFile::ReadIfChanged() {
  struct stat info;
  std::string stamp;
  if (stat(path_.c_str(), &info) == 0) {
    stamp = absl::StrCat(info.st_size, ":", info.st_mtim.tv_sec, ".", info.st_mtim.tv_nsec);
  } else if (errno != ENOENT) {
    // Only a file that is not there means "no routing": a storage error
    // (EACCES, EIO, a stale NFS handle) must not drop a rollout.
    return absl::UnavailableError(absl::StrCat("cannot stat ", path_, ": ", std::strerror(errno)));
  }
  if (read_stamp_.has_value() && *read_stamp_ == stamp) return std::nullopt;
  easymoney::model::v1::RoutingConfig config;
  if (!stamp.empty()) {
    absl::StatusOr<std::string> json = ReadFileToString(path_);
    if (!json.ok()) return json.status();
    absl::StatusOr<easymoney::model::v1::RoutingConfig> parsed = ParseRoutingJson(*json);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(path_, ": ", parsed.status().message()));
    }
    config = *std::move(parsed);
  }
  read_stamp_ = stamp;
  return config;
}

absl::Status RoutingFile::Write(const easymoney::model::v1::RoutingConfig& config) const {
  std::error_code error;
  fs::create_directories(model_base_, error);
  const std::string temporary = path_ + ".tmp";
  if (auto status = WriteStringToFile(temporary, ProtoToJson(config)); !status.ok()) {
    std::remove(temporary.c_str());
    return status;
  }
  if (std::rename(temporary.c_str(), path_.c_str()) != 0) {
    std::remove(temporary.c_str());
    return absl::InternalError(absl::StrCat("cannot rename ", temporary, " to ", path_));
  }
  // The rename is durable only once the directory is synced.
  const int dir_fd = open(model_base_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    fsync(dir_fd);
    close(dir_fd);
  }
  return absl::OkStatus();
}

}  // namespace easymoney
