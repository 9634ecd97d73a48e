#ifndef EASYMONEY_SERVER_CALL_AUTHORIZER_H_
#define EASYMONEY_SERVER_CALL_AUTHORIZER_H_

#include <string>

#include <grpcpp/server_context.h>
#include <grpcpp/support/status.h>

#include "absl/strings/string_view.h"
#include "core/auth/access_tokens.h"
#include "server/server_metrics.h"

namespace easymoney {

// Checks the bearer token of a call ("authorization: Bearer <token>"
// metadata) against the token file and the role the method needs:
// UNAUTHENTICATED when the token is missing or unknown, PERMISSION_DENIED
// when its holder lacks the role. The messages say which, never echo the
// token.
//
// Without a token file (the server was explicitly started with
// --allow-unauthenticated) every call is allowed and the caller is named by
// its x-operator claim, else its peer address.
//
// Thread-safe; Check is lock-free (one SHA-256 of the token per call).
class CallAuthorizer {
 public:
  // `tokens` and `metrics` are borrowed; `tokens` may be null (no
  // authentication).
  CallAuthorizer(const AccessTokenFile* tokens, ServerMetrics* metrics) : tokens_(tokens), metrics_(metrics) {}

  // OK when the call may proceed. `who`, when not null, receives the
  // caller's name for audit records: the token's name (with the
  // self-declared x-operator metadata, if any, appended after a '/'), or the
  // peer address without authentication.
  grpc::Status Check(const grpc::CallbackServerContext& context, Role role, std::string* who = nullptr) const;

  // The same check for a caller on another wire (the Connect HTTP port):
  // `authorization` is the Authorization header's value, `claimed_operator`
  // the X-Operator header's, `peer` the remote address (or, for a gRPC
  // call, `context`, whose peer is only formatted when needed).
  struct Caller {
    absl::string_view authorization;
    absl::string_view claimed_operator;
    std::string peer;
    const grpc::CallbackServerContext* context = nullptr;
    std::string Peer() const { return context != nullptr ? context->peer() : peer; }
  };
  grpc::Status Check(const Caller& caller, Role role, std::string* who = nullptr) const;

  bool enabled() const { return tokens_ != nullptr; }

 private:
  const AccessTokenFile* const tokens_;
  ServerMetrics* const metrics_;
};

}  // namespace easymoney

#endif  // EASYMONEY_SERVER_CALL_AUTHORIZER_H_
