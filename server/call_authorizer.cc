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
std::string ClaimedOperator(const grpc::CallbackServerContext& context) {
  std::string name(Metadata(context, "x-operator").substr(0, 64));
  for (char& c : name) {
    if (c < 0x21 || c > 0x7e) c = '?';
  }
  return name;
}

}  // namespace

grpc::Status CallAuthorizer::Check(const grpc::CallbackServerContext& context, Role role, std::string* who) const {
  const bool admin = role == Role::kAdmin;
  if (tokens_ == nullptr) {
    if (who != nullptr) {
      const std::string claimed = ClaimedOperator(context);
      *who = claimed.empty() ? context.peer() : claimed;
    }
    return grpc::Status::OK;
  }
  const absl::string_view authorization = Metadata(context, "authorization");
  const absl::string_view token = BearerToken(authorization);
  if (token.empty()) {
    metrics_->OnAuthRefused(ServerMetrics::AuthRefusal::kMissingToken, admin);
    if (who != nullptr) *who = context.peer();
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        authorization.empty() ? "no credentials: send \"authorization: Bearer <token>\" metadata"
                                              : "the authorization metadata is not \"Bearer <token>\"");
  }
  const std::shared_ptr<const AccessTokens> tokens = tokens_->Current();
  const TokenIdentity* identity = tokens->Find(token);
  if (identity == nullptr) {
    metrics_->OnAuthRefused(ServerMetrics::AuthRefusal::kUnknownToken, admin);
    if (who != nullptr) *who = context.peer();
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "unknown or revoked token");
  }
  if (who != nullptr) {
    const std::string claimed = ClaimedOperator(context);
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
