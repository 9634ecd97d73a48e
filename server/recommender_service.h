#ifndef EASYMONEY_SERVER_RECOMMENDER_SERVICE_H_
#define EASYMONEY_SERVER_RECOMMENDER_SERVICE_H_

#include "core/serving/admission.h"
#include "easymoney/recommender/v1/recommender.grpc.pb.h"
#include "server/call_authorizer.h"
#include "server/recommender_calls.h"

namespace easymoney {

// The easymoney.recommender.v1.Recommender gRPC service: the caller's token,
// then RecommenderCalls (the same calls the Connect HTTP port makes), each
// finished through a gRPC reactor.
//
// Thread-safe: handlers run concurrently on gRPC's threads.
class RecommenderService final
    : public easymoney::recommender::v1::Recommender::CallbackService {
 public:
  // Everything is borrowed and must outlive the service. `authorizer`
  // checks every call's token for the recommend role; `admission` is the
  // one `calls` admits with (a call holds its place until gRPC has sent
  // its answer).
  RecommenderService(RecommenderCalls* calls, const CallAuthorizer* authorizer, Admission* admission)
      : calls_(calls), authorizer_(authorizer), admission_(admission) {}

  grpc::ServerUnaryReactor* RecommendProducts(
      grpc::CallbackServerContext* context,
      const easymoney::recommender::v1::RecommendProductsRequest* request,
      easymoney::recommender::v1::RecommendProductsResponse* response) override;
  grpc::ServerUnaryReactor* RecommendProductsBatch(
      grpc::CallbackServerContext* context,
      const easymoney::recommender::v1::RecommendProductsBatchRequest* request,
      easymoney::recommender::v1::RecommendProductsBatchResponse* response) override;
  grpc::ServerUnaryReactor* GetModelInfo(grpc::CallbackServerContext* context,
                                         const easymoney::recommender::v1::GetModelInfoRequest* request,
                                         easymoney::recommender::v1::GetModelInfoResponse* response) override;
  grpc::ServerUnaryReactor* ReportFeedback(grpc::CallbackServerContext* context,
                                           const easymoney::recommender::v1::ReportFeedbackRequest* request,
                                           easymoney::recommender::v1::ReportFeedbackResponse* response) override;

 private:
  // The token check and RecommenderCalls::Begin, and the reactor that
  // finishes the call: one that releases admission once gRPC has sent the
  // answer when the call was admitted, gRPC's own otherwise.
  struct GrpcCall {
    CallTransport transport;
    RecommenderCalls::Start start;
    grpc::ServerUnaryReactor* reactor = nullptr;
  };
  GrpcCall Begin(grpc::CallbackServerContext* context, RecommenderCalls::Needs needs);

  RecommenderCalls* const calls_;
  const CallAuthorizer* const authorizer_;
  Admission* const admission_;
};

}  // namespace easymoney

#endif  // EASYMONEY_SERVER_RECOMMENDER_SERVICE_H_
