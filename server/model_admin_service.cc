#include "server/model_admin_service.h"

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "server/status_conversion.h"

namespace easymoney {
namespace {

namespace v1 = easymoney::recommender::v1;

std::string Operator(const grpc::CallbackServerContext& context) {
  const auto& metadata = context.client_metadata();
  const auto it = metadata.find("x-operator");
  if (it != metadata.end()) return std::string(it->second.data(), it->second.size());
  return context.peer();
}

void FillRouting(const RoutingState& state, v1::Routing* routing) {
  routing->set_stable_version(state.stable_version);
  routing->set_canary_version(state.canary_version);
  routing->set_canary_percent(state.canary_percent);
  routing->set_salt(state.salt);
  routing->set_previous_stable_version(state.previous_stable_version);
}

void FillVersions(const ModelManager& models, v1::ListVersionsResponse* response) {
  for (const VersionStatus& status : models.ListVersions()) {
    v1::VersionInfo* info = response->add_versions();
    info->set_version(status.version);
    switch (status.state) {
      case VersionStatus::State::kLoading:
        info->set_state(v1::VersionInfo::LOADING);
        break;
      case VersionStatus::State::kReady:
        info->set_state(v1::VersionInfo::READY);
        break;
      case VersionStatus::State::kServing:
        info->set_state(v1::VersionInfo::SERVING);
        break;
      case VersionStatus::State::kFailed:
        info->set_state(v1::VersionInfo::FAILED);
        break;
      case VersionStatus::State::kRetired:
        info->set_state(v1::VersionInfo::RETIRED);
        break;
    }
    info->set_reason(status.reason);
    info->set_num_customers(status.num_customers);
    info->set_size_bytes(status.size_bytes);
    info->set_load_seconds(status.load_seconds);
    if (status.loaded_at != absl::InfinitePast()) {
      info->set_loaded_at(absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", status.loaded_at, absl::UTCTimeZone()));
    }
    if (status.serving_as.has_value()) {
      info->set_serving_as(*status.serving_as == Variant::kCanary ? v1::VARIANT_CANARY : v1::VARIANT_STABLE);
    }
  }
  FillRouting(models.Routing(), response->mutable_routing());
}

grpc::ServerUnaryReactor* Finish(grpc::CallbackServerContext* context, AuditLog* audit, const std::string& action,
                                 const std::string& detail, const absl::Status& status) {
  audit->Record(Operator(*context), action, detail, status);
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

}  // namespace

grpc::ServerUnaryReactor* ModelAdminService::ListVersions(grpc::CallbackServerContext* context,
                                                          const v1::ListVersionsRequest*,
                                                          v1::ListVersionsResponse* response) {
  FillVersions(*models_, response);
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);  // Read-only: not audited.
  return reactor;
}

grpc::ServerUnaryReactor* ModelAdminService::SetRouting(grpc::CallbackServerContext* context,
                                                        const v1::SetRoutingRequest* request,
                                                        v1::RoutingResponse* response) {
  auto state = models_->SetRouting(request->stable_version(), request->canary_version(), request->canary_percent(),
                                   request->salt());
  if (state.ok()) FillRouting(*state, response->mutable_routing());
  return Finish(context, audit_, "SetRouting", request->ShortDebugString(), state.status());
}

grpc::ServerUnaryReactor* ModelAdminService::PromoteCanary(grpc::CallbackServerContext* context,
                                                           const v1::PromoteCanaryRequest*,
                                                           v1::RoutingResponse* response) {
  auto state = models_->PromoteCanary();
  if (state.ok()) FillRouting(*state, response->mutable_routing());
  return Finish(context, audit_, "PromoteCanary",
                state.ok() ? absl::StrCat("stable now ", state->stable_version) : "", state.status());
}

grpc::ServerUnaryReactor* ModelAdminService::Rollback(grpc::CallbackServerContext* context,
                                                      const v1::RollbackRequest*, v1::RoutingResponse* response) {
  auto state = models_->Rollback();
  if (state.ok()) FillRouting(*state, response->mutable_routing());
  return Finish(context, audit_, "Rollback", state.ok() ? absl::StrCat("stable now ", state->stable_version) : "",
                state.status());
}

grpc::ServerUnaryReactor* ModelAdminService::Rescan(grpc::CallbackServerContext* context, const v1::RescanRequest*,
                                                    v1::ListVersionsResponse* response) {
  models_->Rescan();
  FillVersions(*models_, response);
  return Finish(context, audit_, "Rescan", "", absl::OkStatus());
}

}  // namespace easymoney
