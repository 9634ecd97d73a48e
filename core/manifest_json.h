#ifndef EASYMONEY_CORE_MANIFEST_JSON_H_
#define EASYMONEY_CORE_MANIFEST_JSON_H_

#include <string>


#include "absl/strings/string_view.h"
#include <google/protobuf/message.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "easymoney/model/v1/manifest.pb.h"

namespace easymoney {

// Parses manifest.json (protobuf's JSON mapping of ModelManifest; unknown
// fields ignored so newer writers stay readable). INVALID_ARGUMENT with the
// parser's message on malformed JSON or wrongly typed fields.
absl::StatusOr<easymoney::model::v1::ModelManifest> ParseManifestJson(absl::string_view json);

// Pretty-printed JSON with the .proto field names, every field present.
std::string ManifestToJson(const easymoney::model::v1::ModelManifest& manifest);

// The same JSON conventions for any of the model base's files
// (routing.json): printing as above; parsing ignores unknown fields.
std::string ProtoToJson(const google::protobuf::Message& message);
absl::Status ParseProtoJson(absl::string_view json, google::protobuf::Message* message);

}  // namespace easymoney

#endif  // EASYMONEY_CORE_MANIFEST_JSON_H_
