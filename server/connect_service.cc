#include "server/connect_service.h"

#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/connect_protocol.h"
#include "server/status_conversion.h"

namespace easymoney {
namespace {

namespace v1 = easymoney::recommender::v1;

constexpr absl::string_view kServicePath = "/easymoney.recommender.v1.Recommender/";

HttpServer::Response ErrorResponse(const grpc::Status& status) {
  HttpServer::Response response;
  response.status = ConnectHttpStatus(status.error_code());
  response.content_type = "application/json";
  response.body = ConnectErrorBody(status);
  return response;
}

// What every call of the port shares once it is known to be one: the wire's
// checks, the token, the body, admission; then `method` runs the call.
// The request and response live on the heap until the answer is sent, as
// feedback answers later on another thread.
template <typename Request, typename Response>
struct ConnectCall {
  Request request;
  Response response;
  CallTransport transport;
  ConnectCodec codec = ConnectCodec::kJson;
  RecommenderCalls::Start start;
};

enum class Method { kRecommendProducts, kRecommendProductsBatch, kGetModelInfo, kReportFeedback };

std::optional<Method> MethodOf(absl::string_view name) {
  if (name == "RecommendProducts") return Method::kRecommendProducts;
  if (name == "RecommendProductsBatch") return Method::kRecommendProductsBatch;
  if (name == "GetModelInfo") return Method::kGetModelInfo;
  if (name == "ReportFeedback") return Method::kReportFeedback;
  return std::nullopt;
}

}  // namespace

HttpServer::Response ConnectService::TooLarge(size_t max_body_bytes) {
  return ErrorResponse(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                    absl::StrCat("the request body is over ", max_body_bytes, " bytes")));
}

void ConnectService::Handle(HttpServer::Request&& http, HttpServer::Respond respond) {
  CallTransport transport;
  transport.protocol = CallProtocol::kConnect;

  std::optional<Method> method;
  if (absl::StartsWith(http.path, kServicePath)) method = MethodOf(absl::string_view(http.path).substr(kServicePath.size()));
  if (!method.has_value()) {
    HttpServer::Response response = ErrorResponse(grpc::Status(
        grpc::StatusCode::NOT_FOUND,
        absl::StrCat("no call at ", http.path.substr(0, 200), ": POST /easymoney.recommender.v1.Recommender/",
                     "RecommendProducts, RecommendProductsBatch, GetModelInfo or ReportFeedback")));
    response.status = 404;
    respond(std::move(response));
    return;
  }
  if (http.method != "POST") {
    HttpServer::Response response = ErrorResponse(
        grpc::Status(grpc::StatusCode::UNIMPLEMENTED, absl::StrCat(http.method.substr(0, 16), " is not served: use POST")));
    response.status = 405;
    response.headers.emplace_back("Allow", "POST");
    respond(std::move(response));
    return;
  }
  const std::optional<ConnectCodec> codec = ConnectCodecOf(http.Header("content-type"));
  if (!codec.has_value()) {
    HttpServer::Response response = ErrorResponse(grpc::Status(
        grpc::StatusCode::INVALID_ARGUMENT,
        absl::StrCat("Content-Type \"", http.Header("content-type").substr(0, 100),
                     "\" is not served: send application/json or application/proto")));
    response.status = 415;
    response.headers.emplace_back("Accept-Post", "application/json, application/proto");
    respond(std::move(response));
    return;
  }
  grpc::Status refusal;
  if (const absl::string_view encoding = http.Header("content-encoding");
      !encoding.empty() && encoding != "identity") {
    refusal = grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                           absl::StrCat("Content-Encoding \"", encoding.substr(0, 50),
                                        "\" is not supported: send the body uncompressed"));
  } else if (const absl::string_view version = http.Header("connect-protocol-version");
             !version.empty() && version != "1") {
    refusal = grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "Connect-Protocol-Version must be 1");
  } else if (const absl::string_view timeout = http.Header("connect-timeout-ms"); !timeout.empty()) {
    absl::StatusOr<absl::Duration> parsed = ParseConnectTimeout(timeout);
    if (parsed.ok()) {
      transport.deadline = absl::Now() + *parsed;
    } else {
      refusal = ToGrpcStatus(parsed.status());
    }
  }
  if (!refusal.ok()) {
    respond(ErrorResponse(refusal));
    return;
  }
  grpc::Status authorization;
  if (require_client_certificate_ && !http.client_certificate_verified) {
    authorization = grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                                 "this port runs mutual TLS: present a client certificate its CA signed");
  } else {
    authorization = authorizer_->Check(CallAuthorizer::Caller{.authorization = http.Header("authorization"),
                                                              .claimed_operator = http.Header("x-operator"),
                                                              .peer = http.peer},
                                       Role::kRecommend);
  }

  // Decodes, begins and runs the call; answers with the response or the
  // error, then gives back the call's place in admission.
  auto run = [&](auto call, auto method_call, RecommenderCalls::Needs needs) {
    call->codec = *codec;
    call->transport = transport;
    if (absl::Status decoded = DecodeConnectRequest(*codec, http.body, &call->request); !decoded.ok()) {
      respond(ErrorResponse(ToGrpcStatus(decoded)));
      return;
    }
    call->start = calls_->Begin(authorization, call->transport, needs);
    RecommenderCalls* calls = calls_;
    method_call(call, [call, calls, respond](const grpc::Status& status) {
      HttpServer::Response response;
      if (status.ok()) {
        response.content_type = std::string(ConnectContentType(call->codec));
        response.body = EncodeConnectResponse(call->codec, call->response);
      } else {
        response = ErrorResponse(status);
      }
      // The call keeps its place in admission until its answer has left,
      // as over gRPC.
      if (call->start.admitted) response.done = [calls] { calls->Release(); };
      respond(std::move(response));
    });
  };
  switch (*method) {
    case Method::kRecommendProducts:
      run(std::make_shared<ConnectCall<v1::RecommendProductsRequest, v1::RecommendProductsResponse>>(),
          [this](auto call, auto send) {
            calls_->RecommendProducts(call->start, call->transport, call->request, &call->response, send);
          },
          RecommenderCalls::Needs::kModel);
      return;
    case Method::kRecommendProductsBatch:
      run(std::make_shared<ConnectCall<v1::RecommendProductsBatchRequest, v1::RecommendProductsBatchResponse>>(),
          [this](auto call, auto send) {
            calls_->RecommendProductsBatch(call->start, call->transport, call->request, &call->response, send);
          },
          RecommenderCalls::Needs::kModel);
      return;
    case Method::kGetModelInfo:
      run(std::make_shared<ConnectCall<v1::GetModelInfoRequest, v1::GetModelInfoResponse>>(),
          [this](auto call, auto send) { calls_->GetModelInfo(call->start, &call->response, send); },
          RecommenderCalls::Needs::kModel);
      return;
    case Method::kReportFeedback:
      run(std::make_shared<ConnectCall<v1::ReportFeedbackRequest, v1::ReportFeedbackResponse>>(),
          [this](auto call, auto send) {
            calls_->ReportFeedback(call->start, call->transport, call->request, &call->response, send);
          },
          RecommenderCalls::Needs::kNothing);
      return;
  }
}

}  // namespace easymoney
