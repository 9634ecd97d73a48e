#include "server/call_authorizer.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace easymoney {
namespace {

absl::string_view Metadata(const grpc::CallbackServerContext& context, absl::string_view key) {
  const auto& metadata = context.client_metadata();
  const auto it = metadata.find(grpc::string_ref(key.data(), key.size()));
  if (it == metadata.end()) return {};
  return absl::string_view(it->second.data(), it->second.size());
}

// x-operator is what the caller claims (a person behind a shared admin
// token); printable ASCII only, bounded, so it cannot forge audit lines.
std::string ClaimedOperator(absl::string_view claimed) {
  std::string name(claimed.substr(0, 64));
  for (char& c : name) {
    if (c < 0x21 || c > 0x7e) c = '?';
  }
  return name;
}

}  // namespace

grpc::Status CallAuthorizer::Check(const grpc::CallbackServerContext& context, Role role, std::string* who) const {
  return Check(Caller{.authorization = Metadata(context, "authorization"),
                      .claimed_operator = Metadata(context, "x-operator"),
                      .context = &context},
               role, who);
}

grpc::Status CallAuthorizer::Check(const Caller& caller, Role role, std::string* who) const {
  const bool admin = role == Role::kAdmin;
  if (tokens_ == nullptr) {
    if (who != nullptr) {
      const std::string claimed = ClaimedOperator(caller.claimed_operator);
      *who = claimed.empty() ? caller.Peer() : claimed;
    }
    return grpc::Status::OK;
  }
  const absl::string_view authorization = caller.authorization;
  const absl::string_view token = BearerToken(authorization);
  if (token.empty()) {
    metrics_->OnAuthRefused(ServerMetrics::AuthRefusal::kMissingToken, admin);
    if (who != nullptr) *who = caller.Peer();
    // Each wire's own words: metadata for gRPC, a header over HTTP.
    const bool over_grpc = caller.context != nullptr;
    if (authorization.empty()) {
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                          over_grpc ? "no credentials: send \"authorization: Bearer <token>\" metadata"
                               : "no credentials: send an \"Authorization: Bearer <token>\" header");
    }
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        over_grpc ? "the authorization metadata is not \"Bearer <token>\""
                             : "the Authorization header is not \"Bearer <token>\"");
  }
  const std::shared_ptr<const AccessTokens> tokens = tokens_->Current();
  const TokenIdentity* identity = tokens->Find(token);
  if (identity == nullptr) {
    metrics_->OnAuthRefused(ServerMetrics::AuthRefusal::kUnknownToken, admin);
    if (who != nullptr) *who = caller.Peer();
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "unknown or revoked token");
  }
  if (who != nullptr) {
    const std::string claimed = ClaimedOperator(caller.claimed_operator);
    *who = claimed.empty() ? identity->name : absl::StrCat(identity->name, "/", claimed);
  }
  if (!identity->Has(role)) {
    metrics_->OnAuthRefused(ServerMetrics::AuthRefusal::kWrongRole, admin);
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                        absl::StrCat("token \"", identity->name, "\" lacks the ", RoleName(role), " role"));
  }
  return grpc::Status::OK;
}

}  // namespace easymoney
