#ifndef EASYMONEY_SERVER_CONNECT_SERVICE_H_
#define EASYMONEY_SERVER_CONNECT_SERVICE_H_

#include "server/call_authorizer.h"
#include "server/http_server.h"
#include "server/recommender_calls.h"

namespace easymoney {

// The Recommender calls (RecommendProducts, RecommendProductsBatch,
// GetModelInfo, ReportFeedback) over HTTP in the Connect protocol's unary
// form: POST /easymoney.recommender.v1.Recommender/<Method>, a JSON
// (application/json) or binary protobuf (application/proto) body,
// Connect-Timeout-Ms as the deadline, the same bearer token as gRPC in the
// Authorization header. Converts, then makes the same RecommenderCalls as
// the gRPC service, so both wires answer alike. Errors are Connect's: the
// HTTP status of the code and {"code", "message"}; a wrong path is 404, a
// method other than POST 405, a content type other than those two 415.
//
// Thread-safe.
class ConnectService {
 public:
  // Borrowed; must outlive the service. `require_client_certificate`: the
  // port runs mutual TLS, so a request without a verified client
  // certificate is refused (unauthenticated).
  ConnectService(RecommenderCalls* calls, const CallAuthorizer* authorizer, bool require_client_certificate)
      : calls_(calls), authorizer_(authorizer), require_client_certificate_(require_client_certificate) {}

  // HttpServer's handler.
  void Handle(HttpServer::Request&& request, HttpServer::Respond respond);

  // The answer to a body over the HTTP server's bound (Connect's
  // resource_exhausted).
  static HttpServer::Response TooLarge(size_t max_body_bytes);

 private:
  RecommenderCalls* const calls_;
  const CallAuthorizer* const authorizer_;
  const bool require_client_certificate_;
};

}  // namespace easymoney

#endif  // EASYMONEY_SERVER_CONNECT_SERVICE_H_
