#ifndef EASYMONEY_SERVER_MODEL_ADMIN_SERVICE_H_
#define EASYMONEY_SERVER_MODEL_ADMIN_SERVICE_H_

#include "core/auth/audit_log.h"
#include "core/serving/model_manager.h"
#include "easymoney/recommender/v1/recommender.grpc.pb.h"
#include "server/call_authorizer.h"

namespace easymoney {

// The easymoney.recommender.v1.ModelAdmin gRPC service: translates protos to
// ModelManager calls and writes every changing call to the audit log, and
// every refused one (no token, wrong role) whatever the method. Who asked is
// the token's name (plus the caller's x-operator claim), or without
// authentication the x-operator claim, else the peer address.
//
// Thread-safe; borrows the manager, the log and the authorizer, which must
// outlive it.
class ModelAdminService final : public easymoney::recommender::v1::ModelAdmin::CallbackService {
 public:
  ModelAdminService(ModelManager* models, AuditLog* audit, const CallAuthorizer* authorizer)
      : models_(models), audit_(audit), authorizer_(authorizer) {}

  grpc::ServerUnaryReactor* ListVersions(grpc::CallbackServerContext* context,
                                         const easymoney::recommender::v1::ListVersionsRequest* request,
                                         easymoney::recommender::v1::ListVersionsResponse* response) override;
  grpc::ServerUnaryReactor* SetRouting(grpc::CallbackServerContext* context,
                                       const easymoney::recommender::v1::SetRoutingRequest* request,
                                       easymoney::recommender::v1::RoutingResponse* response) override;
  grpc::ServerUnaryReactor* PromoteCanary(grpc::CallbackServerContext* context,
                                          const easymoney::recommender::v1::PromoteCanaryRequest* request,
                                          easymoney::recommender::v1::RoutingResponse* response) override;
  grpc::ServerUnaryReactor* Rollback(grpc::CallbackServerContext* context,
                                     const easymoney::recommender::v1::RollbackRequest* request,
                                     easymoney::recommender::v1::RoutingResponse* response) override;
  grpc::ServerUnaryReactor* Rescan(grpc::CallbackServerContext* context,
                                   const easymoney::recommender::v1::RescanRequest* request,
                                   easymoney::recommender::v1::ListVersionsResponse* response) override;

 private:
  // OK when the caller holds the admin role; a refusal is audited under
  // `action`. `who` receives the caller's name.
  grpc::Status Authorize(grpc::CallbackServerContext* context, const char* action, std::string& who);

  ModelManager* const models_;
  AuditLog* const audit_;
  const CallAuthorizer* const authorizer_;
};

}  // namespace easymoney

#endif  // EASYMONEY_SERVER_MODEL_ADMIN_SERVICE_H_
