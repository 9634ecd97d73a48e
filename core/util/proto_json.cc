#include "core/util/proto_json.h"

#include <google/protobuf/util/json_util.h>

#include "absl/strings/escaping.h"

namespace easymoney {

absl::Status ParseProtoJson(absl::string_view json, google::protobuf::Message* message) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  const auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), message, options);
  // The parser's message quotes the input around the error, whatever its
  // bytes. Escaped, it is one line of ASCII: fit for logs and for the proto3
  // string fields it ends up in (ListVersions' reason), which must be UTF-8.
  if (!status.ok()) {
    const absl::string_view message(status.message().data(), status.message().size());
    return absl::InvalidArgumentError(absl::CHexEscape(message));
  }
  return absl::OkStatus();
}

std::string ProtoToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string json;
  // Printing a valid message cannot fail.
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  return json;
}

}  // namespace easymoney
