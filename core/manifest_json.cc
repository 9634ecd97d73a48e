#include "absl/strings/string_view.h"
#include "core/manifest_json.h"

#include <google/protobuf/util/json_util.h>

#include "absl/strings/str_cat.h"

namespace easymoney {

absl::StatusOr<easymoney::model::v1::ModelManifest> ParseManifestJson(absl::string_view json) {
  easymoney::model::v1::ModelManifest manifest;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  const auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), &manifest, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("manifest.json: ", std::string(status.message())));
  }
  return manifest;
}

std::string ManifestToJson(const easymoney::model::v1::ModelManifest& manifest) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string json;
  // Printing a valid message cannot fail.
  (void)google::protobuf::util::MessageToJsonString(manifest, &json, options);
  return json;
}

}  // namespace easymoney
