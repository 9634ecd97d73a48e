#ifndef EASYMONEY_SERVER_RECOMMENDER_SERVICE_H_
#define EASYMONEY_SERVER_RECOMMENDER_SERVICE_H_

#include <cstdint>
#include <memory>

#include "core/serving/admission.h"
#include "core/serving/canary_analysis.h"
#include "core/serving/event_log.h"
#include "core/serving/feedback_recorder.h"
#include "core/serving/request_id.h"
#include "core/serving/model_manager.h"
#include "easymoney/recommender/v1/recommender.grpc.pb.h"
#include "server/call_authorizer.h"
#include "server/server_metrics.h"

namespace easymoney {

// Largest RecommendProductsBatch accepted: a few hundred customers is a page
// of lists or a campaign chunk, and bounds one call's work and memory.
inline constexpr int kMaxBatchSize = 500;

// The easymoney.recommender.v1.Recommender gRPC service: translates protos
// to core queries and core results back, nothing more. Every handler starts
// alike (StartCall): the caller's token, admission, the deadline, then one
// ServingSet snapshot for the whole call.
//
// Thread-safe: handlers run concurrently on gRPC's threads.
class RecommenderService final
    : public easymoney::recommender::v1::Recommender::CallbackService {
 public:
  // Everything is borrowed and must outlive the service.
  struct Options {
    ServerMetrics* metrics = nullptr;  // Required.
    // What serves: each call takes ModelManager::Current() once. Required;
    // its ServingSets carry ServingSetMetrics as their attachment.
    const ModelManager* models = nullptr;
    // Checks every call's token for the recommend role. Required.
    const CallAuthorizer* authorizer = nullptr;
    // Decides whether each call may proceed. Required.
    Admission* admission = nullptr;
    // Receives per-variant request outcomes for automatic canary analysis
    // while a canary serves; may be null.
    WindowStats* window = nullptr;
    // Record ReportFeedback and a `served_log_sample` share of the answers;
    // null: no event log (feedback is refused).
    FeedbackRecorder* feedback = nullptr;
    // Signs the request id of every answer; required.
    const RequestIdSigner* request_ids = nullptr;
    EventLog* event_log = nullptr;
    double served_log_sample = 1.0;
  };
  explicit RecommenderService(const Options& options);

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
  // How a call starts. `status` is OK when the handler is to do its work:
  // otherwise it says why not (refused, expired, no model yet), and the
  // handler finishes `reactor` with it.
  struct CallStart {
    grpc::ServerUnaryReactor* reactor = nullptr;
    grpc::Status status;
    // Past the token check and admission: the call counts as in flight
    // until `reactor` is done.
    bool admitted = false;
    std::shared_ptr<const ServingSet> serving;  // Non-null when status is OK and a model was needed.
  };
  enum class Needs { kModel, kNothing };
  // The preamble every handler shares: the caller's token (recommend role),
  // admission, then, for calls that need a model, the deadline and the
  // ServingSet snapshot.
  CallStart StartCall(grpc::CallbackServerContext* context, Needs needs);

  // Whether this answer is one of the served_log_sample share written to
  // the event log.
  bool SampleServed() const;

  ServerMetrics* const metrics_;
  const ModelManager* const models_;
  const CallAuthorizer* const authorizer_;
  Admission* const admission_;
  WindowStats* const window_;
  FeedbackRecorder* const feedback_;
  const RequestIdSigner* const request_ids_;
  EventLog* const event_log_;
  // A uniform 64-bit draw at or below this logs the answer; 0: none.
  const uint64_t served_log_threshold_;
};

}  // namespace easymoney

#endif  // EASYMONEY_SERVER_RECOMMENDER_SERVICE_H_
