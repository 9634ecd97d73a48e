#ifndef EASYMONEY_CORE_MODEL_MANIFEST_JSON_H_
#define EASYMONEY_CORE_MODEL_MANIFEST_JSON_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "easymoney/model/v1/manifest.pb.h"

namespace easymoney {

// Parses manifest.json (protobuf's JSON mapping of ModelManifest; unknown
// fields ignored so newer writers stay readable). INVALID_ARGUMENT with the
// parser's message on malformed JSON or wrongly typed fields.
absl::StatusOr<easymoney::model::v1::ModelManifest> ParseManifestJson(absl::string_view json);

// Pretty-printed JSON with the .proto field names, every field present
// (ProtoToJson, core/util/proto_json.h).
std::string ManifestToJson(const easymoney::model::v1::ModelManifest& manifest);

}  // namespace easymoney

#endif  // EASYMONEY_CORE_MODEL_MANIFEST_JSON_H_
