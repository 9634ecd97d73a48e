#include "core/model/manifest_json.h"

#include "absl/strings/str_cat.h"
#include "core/util/proto_json.h"

namespace easymoney {

absl::StatusOr<easymoney::model::v1::ModelManifest> ParseManifestJson(absl::string_view json) {
  easymoney::model::v1::ModelManifest manifest;
  if (auto status = ParseProtoJson(json, &manifest); !status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("manifest.json: ", status.message()));
  }
  return manifest;
}

std::string ManifestToJson(const easymoney::model::v1::ModelManifest& manifest) { return ProtoToJson(manifest); }

}  // namespace easymoney
