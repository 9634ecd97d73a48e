#include "server/model_admin_service.h"

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "server/status_conversion.h"

namespace easymoney {
namespace {

namespace v1 = easymoney::recommender::v1;

void FillRouting(const RoutingState& state, v1::Routing* routing) {
  routing->set_stable_version(state.stable_version);
  routing->set_canary_version(state.canary_version);
  routing->set_canary_percent(state.canary_percent);
  routing->set_salt(state.salt);
  routing->set_previous_stable_version(state.previous_stable_version);
  routing->set_shadow_version(state.shadow_version);
  routing->set_shadow_percent(state.shadow_percent);
  v1::AutoRollback* automatic = routing->mutable_auto_rollback();
  automatic->set_enabled(state.analysis.enabled());
  automatic->set_window_seconds(state.analysis.window_seconds());
  automatic->set_min_requests(state.analysis.min_requests());
  automatic->set_max_error_ratio_increase(state.analysis.max_error_ratio_increase());
  automatic->set_max_p99_ratio(state.analysis.max_p99_ratio());
  automatic->set_p99_floor_seconds(state.analysis.p99_floor_seconds());
  routing->set_last_auto_rollback(state.last_auto_rollback);
  for (const std::string& problem : state.routing_problems) routing->add_routing_problems(problem);
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

grpc::ServerUnaryReactor* Finish(grpc::CallbackServerContext* context, AuditLog* audit, const std::string& who,
                                 const std::string& action, const std::string& detail, const absl::Status& status) {
  audit->Record(who, action, detail, status);
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

grpc::ServerUnaryReactor* Refuse(grpc::CallbackServerContext* context, const grpc::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(status);
  return reactor;
}

}  // namespace

grpc::Status ModelAdminService::Authorize(grpc::CallbackServerContext* context, const char* action,
                                          std::string& who) {
  grpc::Status status = authorizer_->Check(*context, Role::kAdmin, &who);
  if (!status.ok()) {
    audit_->Record(who, action, "refused before any change",
                   absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message()));
  }
  return status;
}

grpc::ServerUnaryReactor* ModelAdminService::ListVersions(grpc::CallbackServerContext* context,
                                                          const v1::ListVersionsRequest*,
                                                          v1::ListVersionsResponse* response) {
  std::string who;
  if (grpc::Status denied = Authorize(context, "ListVersions", who); !denied.ok()) return Refuse(context, denied);
  FillVersions(*models_, response);
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);  // Read-only: not audited.
  return reactor;
}

grpc::ServerUnaryReactor* ModelAdminService::SetRouting(grpc::CallbackServerContext* context,
                                                        const v1::SetRoutingRequest* request,
                                                        v1::RoutingResponse* response) {
  std::string who;
  if (grpc::Status denied = Authorize(context, "SetRouting", who); !denied.ok()) return Refuse(context, denied);
  RoutingChange change;
  change.stable_version = request->stable_version();
  change.canary_version = request->canary_version();
  change.canary_percent = request->canary_percent();
  change.salt = request->salt();
  change.shadow_version = request->shadow_version();
  change.shadow_percent = request->shadow_percent();
  const v1::AutoRollback& automatic = request->auto_rollback();
  change.analysis.set_enabled(automatic.enabled());
  change.analysis.set_window_seconds(automatic.window_seconds());
  change.analysis.set_min_requests(automatic.min_requests());
  change.analysis.set_max_error_ratio_increase(automatic.max_error_ratio_increase());
  change.analysis.set_max_p99_ratio(automatic.max_p99_ratio());
  change.analysis.set_p99_floor_seconds(automatic.p99_floor_seconds());
  auto state = models_->SetRouting(change);
  if (state.ok()) FillRouting(*state, response->mutable_routing());
  return Finish(context, audit_, who, "SetRouting", request->ShortDebugString(), state.status());
}

grpc::ServerUnaryReactor* ModelAdminService::PromoteCanary(grpc::CallbackServerContext* context,
                                                           const v1::PromoteCanaryRequest*,
                                                           v1::RoutingResponse* response) {
  std::string who;
  if (grpc::Status denied = Authorize(context, "PromoteCanary", who); !denied.ok()) return Refuse(context, denied);
  auto state = models_->PromoteCanary();
  if (state.ok()) FillRouting(*state, response->mutable_routing());
  return Finish(context, audit_, who, "PromoteCanary",
                state.ok() ? absl::StrCat("stable now ", state->stable_version) : "", state.status());
}

grpc::ServerUnaryReactor* ModelAdminService::Rollback(grpc::CallbackServerContext* context,
                                                      const v1::RollbackRequest*, v1::RoutingResponse* response) {
  std::string who;
  if (grpc::Status denied = Authorize(context, "Rollback", who); !denied.ok()) return Refuse(context, denied);
  auto state = models_->Rollback();
  if (state.ok()) FillRouting(*state, response->mutable_routing());
  return Finish(context, audit_, who, "Rollback", state.ok() ? absl::StrCat("stable now ", state->stable_version) : "",
                state.status());
}

grpc::ServerUnaryReactor* ModelAdminService::Rescan(grpc::CallbackServerContext* context, const v1::RescanRequest*,
                                                    v1::ListVersionsResponse* response) {
  std::string who;
  if (grpc::Status denied = Authorize(context, "Rescan", who); !denied.ok()) return Refuse(context, denied);
  models_->Rescan();
  FillVersions(*models_, response);
  return Finish(context, audit_, who, "Rescan", "", absl::OkStatus());
}

}  // namespace easymoney
