#include "core/serving/version_source.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "core/model/model_directory.h"

namespace easymoney {

namespace fs = std::filesystem;

std::string VersionSource::DirOf(int64_t version) const {
  return (fs::path(model_base_) / std::to_string(version)).string();
}

absl::StatusOr<std::vector<int64_t>> VersionSource::List() const { return ListModelVersions(model_base_); }

bool VersionSource::Ready(int64_t version) const {
  struct stat info;
  return stat((fs::path(DirOf(version)) / "manifest.json").c_str(), &info) == 0;
}

VersionSource::Fingerprint VersionSource::FingerprintOf(int64_t version) const {
  Fingerprint fingerprint;
  std::error_code error;
  std::vector<std::string> entries;
  for (const fs::directory_entry& entry : fs::directory_iterator(DirOf(version), error)) {
    struct stat info;
    if (stat(entry.path().c_str(), &info) != 0) continue;
    fingerprint.total_bytes += info.st_size;
    // ctime too: a chmod that makes a file readable changes only that.
    entries.push_back(absl::StrCat(entry.path().filename().string(), ":", info.st_ino, ":", info.st_size, ":",
                                   info.st_mtim.tv_sec, ".", info.st_mtim.tv_nsec, ":", info.st_ctim.tv_sec, ".",
                                   info.st_ctim.tv_nsec));
  }
  std::sort(entries.begin(), entries.end());
  for (const std::string& entry : entries) absl::StrAppend(&fingerprint.files, entry, ";");
  return fingerprint;
}

}  // namespace easymoney
