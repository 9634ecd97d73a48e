#ifndef EASYMONEY_CORE_UTIL_PROTO_JSON_H_
#define EASYMONEY_CORE_UTIL_PROTO_JSON_H_

// The JSON conventions of every file and printout the project makes from a
// protobuf message (manifest.json, routing.json, the CLI's --json): printed
// with the .proto field names, pretty, every field present; parsed leniently
// about unknown fields, so files written by a newer version stay readable.
// Stateless; thread-safe.

#include <string>

#include <google/protobuf/message.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace easymoney {

std::string ProtoToJson(const google::protobuf::Message& message);

// INVALID_ARGUMENT with the parser's message (escaped to one line of ASCII)
// on malformed JSON or wrongly typed fields.
absl::Status ParseProtoJson(absl::string_view json, google::protobuf::Message* message);

}  // namespace easymoney

#endif  // EASYMONEY_CORE_UTIL_PROTO_JSON_H_
