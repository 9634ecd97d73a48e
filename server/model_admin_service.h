#ifndef EASYMONEY_SERVER_MODEL_ADMIN_SERVICE_H_
#define EASYMONEY_SERVER_MODEL_ADMIN_SERVICE_H_

#include "core/audit_log.h"
#include "core/model_manager.h"
#include "easymoney/recommender/v1/recommender.grpc.pb.h"

namespace easymoney {

// The easymoney.recommender.v1.ModelAdmin gRPC service: translates protos to
// ModelManager calls and writes every call to the audit log. Who asked is the
// "x-operator" request metadata, else the peer address.
//
// Thread-safe; borrows the manager and the log, which must outlive it.
class ModelAdminService final : public easymoney::recommender::v1::ModelAdmin::CallbackService {
 public:
  ModelAdminService(ModelManager* models, AuditLog* audit) : models_(models), audit_(audit) {}

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
  ModelManager* const models_;
  AuditLog* const audit_;
};

}  // namespace easymoney

#endif  // EASYMONEY_SERVER_MODEL_ADMIN_SERVICE_H_
