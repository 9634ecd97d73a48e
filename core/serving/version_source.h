#ifndef EASYMONEY_CORE_SERVING_VERSION_SOURCE_H_
#define EASYMONEY_CORE_SERVING_VERSION_SOURCE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace easymoney {

// The model versions of one model base directory as they are on disk (TF
// Serving's source): which versions exist, whether each is complete enough
// to load, and a fingerprint of its files, so a version refused once is
// looked at again only when its files change.
//
//   VersionSource source("models");
//   for (int64_t version : *source.List()) {
//     if (source.Ready(version)) Load(source.DirOf(version));
//   }
//
// Reads the file system on every call and caches nothing. Thread-safe.
class VersionSource {
 public:
  explicit VersionSource(std::string model_base) : model_base_(std::move(model_base)) {}

  const std::string& model_base() const { return model_base_; }
  std::string DirOf(int64_t version) const;

  // Version numbers on disk, ascending (model_directory.h's names).
  // NOT_FOUND when the model base does not exist.
  absl::StatusOr<std::vector<int64_t>> List() const;

  // Whether the version's manifest.json exists. The trainer renames a
  // complete version into place, but a copy by hand or by a sync tool
  // writes the manifest last: without it the version is still arriving.
  bool Ready(int64_t version) const;

  struct Fingerprint {
    // Names, inodes, sizes, modification and change times of the version's
    // files, sorted: changes when a file is repaired, replaced, finishes
    // copying or becomes readable.
    std::string files;
    int64_t total_bytes = 0;
    bool operator==(const Fingerprint& other) const { return files == other.files; }
  };
  Fingerprint FingerprintOf(int64_t version) const;

 private:
  const std::string model_base_;
};

}  // namespace easymoney

#endif  // EASYMONEY_CORE_SERVING_VERSION_SOURCE_H_
