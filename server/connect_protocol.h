#ifndef EASYMONEY_SERVER_CONNECT_PROTOCOL_H_
#define EASYMONEY_SERVER_CONNECT_PROTOCOL_H_

#include <cstdint>
#include <optional>
#include <string>

#include <google/protobuf/message.h>
#include <grpcpp/support/status.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace easymoney {

// The unary calls of the Connect protocol (connectrpc.com/docs/protocol):
// POST /<package>.<Service>/<Method> with the request message as the body,
// JSON (protobuf's canonical JSON mapping) or binary protobuf, and errors as
// an HTTP status with a JSON body {"code", "message"}. Pure functions, no
// I/O; thread-safe.

enum class ConnectCodec { kJson, kProto };

// The codec of a request's Content-Type ("application/json",
// "application/proto", with or without parameters such as charset), or
// nullopt when it is neither (HTTP 415).
std::optional<ConnectCodec> ConnectCodecOf(absl::string_view content_type);

// The Content-Type of answers in `codec`.
absl::string_view ConnectContentType(ConnectCodec codec);

// The request body decoded into `message`. JSON follows Connect's rule:
// unknown fields are ignored (a newer client may send them); wrong types
// and malformed text are INVALID_ARGUMENT with protobuf's description of the
// problem. A binary body that does not parse is INVALID_ARGUMENT too.
absl::Status DecodeConnectRequest(ConnectCodec codec, absl::string_view body, google::protobuf::Message* message);

// `message` encoded in `codec` (JSON: lowerCamelCase names, default values
// left out, as protobuf's JSON printer and Connect's Go codec do).
std::string EncodeConnectResponse(ConnectCodec codec, const google::protobuf::Message& message);

// The Connect-Timeout-Ms header's value as a duration: 1 to 10 ASCII
// digits. INVALID_ARGUMENT otherwise.
absl::StatusOr<absl::Duration> ParseConnectTimeout(absl::string_view value);

// Connect's name of `code` ("invalid_argument", ...), and the HTTP status
// it travels with (invalid_argument 400, unauthenticated 401,
// permission_denied 403, not_found 404, resource_exhausted 429,
// unavailable 503, ...).
absl::string_view ConnectCodeName(grpc::StatusCode code);
int ConnectHttpStatus(grpc::StatusCode code);

// The body of a Connect error: {"code":"...","message":"..."}.
std::string ConnectErrorBody(const grpc::Status& status);

}  // namespace easymoney

#endif  // EASYMONEY_SERVER_CONNECT_PROTOCOL_H_
