#include "server/connect_protocol.h"

#include <google/protobuf/util/json_util.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/util/json_string.h"
#include "core/util/proto_json.h"

namespace easymoney {

std::optional<ConnectCodec> ConnectCodecOf(absl::string_view content_type) {
  // The media type before any parameter ("application/json; charset=utf-8").
  const absl::string_view media = absl::StripAsciiWhitespace(content_type.substr(0, content_type.find(';')));
  if (absl::EqualsIgnoreCase(media, "application/json")) return ConnectCodec::kJson;
  if (absl::EqualsIgnoreCase(media, "application/proto")) return ConnectCodec::kProto;
  return std::nullopt;
}

absl::string_view ConnectContentType(ConnectCodec codec) {
  return codec == ConnectCodec::kJson ? "application/json" : "application/proto";
}

absl::Status DecodeConnectRequest(ConnectCodec codec, absl::string_view body, google::protobuf::Message* message) {
  if (codec == ConnectCodec::kJson) {
    // An empty body is the empty message, as for binary protobuf.
    if (absl::StripAsciiWhitespace(body).empty()) {
      message->Clear();
      return absl::OkStatus();
    }
    absl::Status parsed = ParseProtoJson(body, message);
    if (!parsed.ok()) return absl::InvalidArgumentError(absl::StrCat("the JSON body does not parse as ",
                                                                     message->GetTypeName(), ": ", parsed.message()));
    return absl::OkStatus();
  }
  if (!message->ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    return absl::InvalidArgumentError(
        absl::StrCat("the body is not a binary ", message->GetTypeName(), " (application/proto)"));
  }
  return absl::OkStatus();
}

std::string EncodeConnectResponse(ConnectCodec codec, const google::protobuf::Message& message) {
  std::string out;
  if (codec == ConnectCodec::kProto) {
    message.SerializeToString(&out);
    return out;
  }
  google::protobuf::util::JsonPrintOptions options;
  // A message the server made always prints; a failure would be a bug.
  if (!google::protobuf::util::MessageToJsonString(message, &out, options).ok()) out = "{}";
  return out;
}

absl::StatusOr<absl::Duration> ParseConnectTimeout(absl::string_view value) {
  if (value.empty() || value.size() > 10 ||
      value.find_first_not_of("0123456789") != absl::string_view::npos) {
    return absl::InvalidArgumentError("Connect-Timeout-Ms must be 1 to 10 digits (milliseconds)");
  }
  int64_t ms = 0;
  if (!absl::SimpleAtoi(value, &ms)) return absl::InvalidArgumentError("Connect-Timeout-Ms does not parse");
  return absl::Milliseconds(ms);
}

absl::string_view ConnectCodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "ok";
    case grpc::StatusCode::CANCELLED:
      return "canceled";
    case grpc::StatusCode::UNKNOWN:
      return "unknown";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "invalid_argument";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "deadline_exceeded";
    case grpc::StatusCode::NOT_FOUND:
      return "not_found";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "already_exists";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "permission_denied";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "resource_exhausted";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "failed_precondition";
    case grpc::StatusCode::ABORTED:
      return "aborted";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "out_of_range";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "unimplemented";
    case grpc::StatusCode::INTERNAL:
      return "internal";
    case grpc::StatusCode::UNAVAILABLE:
      return "unavailable";
    case grpc::StatusCode::DATA_LOSS:
      return "data_loss";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "unauthenticated";
    default:
      return "unknown";
  }
}

int ConnectHttpStatus(grpc::StatusCode code) {
  // connectrpc.com/docs/protocol, "Error Codes".
  switch (code) {
    case grpc::StatusCode::OK:
      return 200;
    case grpc::StatusCode::CANCELLED:
      return 499;
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::OUT_OF_RANGE:
      return 400;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return 504;
    case grpc::StatusCode::NOT_FOUND:
      return 404;
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::ABORTED:
      return 409;
    case grpc::StatusCode::PERMISSION_DENIED:
      return 403;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return 429;
    case grpc::StatusCode::UNIMPLEMENTED:
      return 501;
    case grpc::StatusCode::UNAVAILABLE:
      return 503;
    case grpc::StatusCode::UNAUTHENTICATED:
      return 401;
    case grpc::StatusCode::UNKNOWN:
    case grpc::StatusCode::INTERNAL:
    case grpc::StatusCode::DATA_LOSS:
    default:
      return 500;
  }
}

std::string ConnectErrorBody(const grpc::Status& status) {
  std::string body = "{\"code\":";
  AppendJsonString(body, ConnectCodeName(status.error_code()));
  if (!status.error_message().empty()) {
    body += ",\"message\":";
    AppendJsonString(body, status.error_message());
  }
  body += '}';
  return body;
}

}  // namespace easymoney
