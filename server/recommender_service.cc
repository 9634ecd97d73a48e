#include "server/recommender_service.h"

#include <chrono>

#include "absl/time/clock.h"

namespace easymoney {
namespace {

namespace v1 = easymoney::recommender::v1;

// A unary reactor that holds an admitted call's place in admission: from
// its handler's start until gRPC has sent its response (OnDone), so
// responses queued behind a saturated transport count too.
class AdmittedReactor final : public grpc::ServerUnaryReactor {
 public:
  explicit AdmittedReactor(Admission* admission) : admission_(admission) {}
  void OnDone() override {
    admission_->Release();
    delete this;
  }
  // gRPC runs OnDone of a reactor that is not "inlineable" on its executor
  // threads: a thread hop and a futex wake-up per call, which at saturation
  // cost more than the handler's own work (perf: 12 points more of the CPU in
  // gRPC's default-executor threads than the floor server, whose
  // DefaultReactor is inlineable). Both reactions here are trivial and never
  // block, the condition gRPC states for the hook (grpcpp/support/
  // server_callback.h); it is marked "not API", so `override` makes a gRPC
  // that drops it fail to build rather than quietly hop threads again.
  bool InternalInlineable() override { return true; }

 private:
  Admission* const admission_;
};

CallTransport GrpcTransport(grpc::CallbackServerContext* context) {
  CallTransport transport;
  transport.protocol = CallProtocol::kGrpc;
  const auto deadline = context->deadline();
  // gRPC's "no deadline" is the clock's largest time point.
  transport.deadline = deadline == std::chrono::system_clock::time_point::max() ? absl::InfiniteFuture()
                                                                                 : absl::FromChrono(deadline);
  transport.cancelled = [context] { return context->IsCancelled(); };
  return transport;
}

}  // namespace

RecommenderService::GrpcCall RecommenderService::Begin(grpc::CallbackServerContext* context,
                                                       RecommenderCalls::Needs needs) {
  GrpcCall call{.transport = GrpcTransport(context)};
  call.start = calls_->Begin(authorizer_->Check(*context, Role::kRecommend), call.transport, needs);
  // gRPC's own reactor: DefaultReactor() may be asked for once per call,
  // and only when it is the one that finishes the call.
  call.reactor = call.start.admitted ? new AdmittedReactor(admission_) : context->DefaultReactor();
  return call;
}

grpc::ServerUnaryReactor* RecommenderService::RecommendProducts(grpc::CallbackServerContext* context,
                                                                const v1::RecommendProductsRequest* request,
                                                                v1::RecommendProductsResponse* response) {
  GrpcCall call = Begin(context, RecommenderCalls::Needs::kModel);
  grpc::ServerUnaryReactor* reactor = call.reactor;
  calls_->RecommendProducts(call.start, call.transport, *request, response,
                            [reactor](const grpc::Status& status) { reactor->Finish(status); });
  return reactor;
}

grpc::ServerUnaryReactor* RecommenderService::RecommendProductsBatch(grpc::CallbackServerContext* context,
                                                                     const v1::RecommendProductsBatchRequest* request,
                                                                     v1::RecommendProductsBatchResponse* response) {
  GrpcCall call = Begin(context, RecommenderCalls::Needs::kModel);
  grpc::ServerUnaryReactor* reactor = call.reactor;
  calls_->RecommendProductsBatch(call.start, call.transport, *request, response,
                                 [reactor](const grpc::Status& status) { reactor->Finish(status); });
  return reactor;
}

grpc::ServerUnaryReactor* RecommenderService::GetModelInfo(grpc::CallbackServerContext* context,
                                                           const v1::GetModelInfoRequest*,
                                                           v1::GetModelInfoResponse* response) {
  GrpcCall call = Begin(context, RecommenderCalls::Needs::kModel);
  grpc::ServerUnaryReactor* reactor = call.reactor;
  calls_->GetModelInfo(call.start, response, [reactor](const grpc::Status& status) { reactor->Finish(status); });
  return reactor;
}

grpc::ServerUnaryReactor* RecommenderService::ReportFeedback(grpc::CallbackServerContext* context,
                                                             const v1::ReportFeedbackRequest* request,
                                                             v1::ReportFeedbackResponse* response) {
  GrpcCall call = Begin(context, RecommenderCalls::Needs::kNothing);
  grpc::ServerUnaryReactor* reactor = call.reactor;
  calls_->ReportFeedback(call.start, call.transport, *request, response,
                         [reactor](const grpc::Status& status) { reactor->Finish(status); });
  return reactor;
}

}  // namespace easymoney
