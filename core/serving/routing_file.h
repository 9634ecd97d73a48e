#ifndef EASYMONEY_CORE_SERVING_ROUTING_FILE_H_
#define EASYMONEY_CORE_SERVING_ROUTING_FILE_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "easymoney/model/v1/routing.pb.h"

namespace easymoney {

// Parses routing.json (RoutingConfig in protobuf's JSON mapping) and checks
// that canary_percent and shadow_percent are within 0..100.
// INVALID_ARGUMENT with the reason otherwise. Pure: reads no file.
absl::StatusOr<easymoney::model::v1::RoutingConfig> ParseRoutingJson(absl::string_view json);

// MODEL_BASE/routing.json: the routing that an operator, the admin API or a
// pipeline writes and every scan reads.
//
//   RoutingFile file("models");
//   auto changed = file.ReadIfChanged();   // nullopt: as last read
//   if (changed.ok() && changed->has_value()) Adopt(**changed);
//   file.Write(config);                    // atomic: temporary file, rename, directory fsync
//
// A file that cannot be read or parsed is reported on every call until it
// can be (its size and time are not remembered as read), so a permission
// fixed without touching the file still takes effect. Thread-compatible.
class RoutingFile {
 public:
  explicit RoutingFile(const std::string& model_base);

  const std::string& path() const { return path_; }

  // The routing when the file changed (size or modification time) since the
  // last successful read: the parsed config, or an empty config when the
  // file was removed. nullopt when unchanged. Errors: the read's or
  // ParseRoutingJson's.
  absl::StatusOr<std::optional<easymoney::model::v1::RoutingConfig>> ReadIfChanged();

  // Forget what was read, so the next ReadIfChanged reads the file again.
  void Invalidate() { read_stamp_.reset(); }

  // Writes `config` atomically and durably. INTERNAL with the reason on
  // failure (a read-only or full file system), leaving the file as it was.
  absl::Status Write(const easymoney::model::v1::RoutingConfig& config) const;

 private:
  const std::string model_base_;
  const std::string path_;
  // "size:mtime" of the file as last read successfully ("" when it was
  // absent); nullopt before the first read.
  std::optional<std::string> read_stamp_;
};

}  // namespace easymoney

#endif  // EASYMONEY_CORE_SERVING_ROUTING_FILE_H_
