#ifndef EASYMONEY_SERVER_RECOMMENDER_CALLS_H_
#define EASYMONEY_SERVER_RECOMMENDER_CALLS_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include <grpcpp/support/status.h>

#include "absl/functional/function_ref.h"
#include "absl/time/time.h"
#include "core/serving/admission.h"
#include "core/serving/canary_analysis.h"
#include "core/serving/event_log.h"
#include "core/serving/feedback_recorder.h"
#include "core/serving/model_manager.h"
#include "core/serving/request_id.h"
#include "easymoney/recommender/v1/recommender.pb.h"
#include "server/server_metrics.h"

namespace easymoney {

// Largest RecommendProductsBatch accepted: a few hundred customers is a page
// of lists or a campaign chunk, and bounds one call's work and memory.
inline constexpr int kMaxBatchSize = 500;

// What the transport knows of a call: its wire (for the metrics' protocol
// label), its deadline and whether the caller gave up.
struct CallTransport {
  // When the call arrived: its latency is measured from here.
  std::chrono::steady_clock::time_point received = std::chrono::steady_clock::now();
  CallProtocol protocol = CallProtocol::kGrpc;
  absl::Time deadline = absl::InfiniteFuture();
  // Whether the caller cancelled the call; empty: never.
  std::function<bool()> cancelled;
};

// The calls of the easymoney.recommender.v1.Recommender service, whatever
// the wire: the gRPC service (recommender_service.h) and the Connect HTTP
// port (connect_service.h) both convert their transport's call into these,
// so routing, canary, fold-in, rules, the event log, admission and metrics
// are one code path. Translates protos to core queries and core results
// back.
//
// A call goes: the transport checks the caller's token; Begin (admission,
// the deadline, one ServingSet snapshot); the method, which calls `send`
// once with the status (the response is filled when it is OK) and may do
// work after it (the event log line, shadow scoring); then, once the answer
// has left, Release() if Begin admitted the call.
//
// Thread-safe: calls run concurrently on the transports' threads.
class RecommenderCalls {
 public:
  // Everything is borrowed and must outlive the calls.
  struct Options {
    ServerMetrics* metrics = nullptr;  // Required.
    // What serves: each call takes ModelManager::Current() once. Required;
    // its ServingSets carry ServingSetMetrics as their attachment.
    const ModelManager* models = nullptr;
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
  explicit RecommenderCalls(const Options& options);

  // How a call starts. `status` is OK when the method is to do its work:
  // otherwise it says why not (refused, expired, no model yet), and the
  // method only sends it.
  struct Start {
    grpc::Status status;
    // Past the token check and admission: the call counts as in flight
    // until Release().
    bool admitted = false;
    std::shared_ptr<const ServingSet> serving;  // Non-null when status is OK and a model was needed.
  };
  enum class Needs { kModel, kNothing };
  // `authorization`: the transport's verdict on the caller's token
  // (CallAuthorizer, recommend role). Then admission, and for calls that
  // need a model, the deadline and the ServingSet snapshot.
  Start Begin(const grpc::Status& authorization, const CallTransport& transport, Needs needs);
  // Ends an admitted call's place in admission (once its answer has left).
  void Release() { admission_->Release(); }

  using Send = absl::FunctionRef<void(const grpc::Status&)>;
  // Begin(..., Needs::kModel) for the first three, kNothing for feedback.
  void RecommendProducts(const Start& start, const CallTransport& transport,
                         const easymoney::recommender::v1::RecommendProductsRequest& request,
                         easymoney::recommender::v1::RecommendProductsResponse* response, Send send);
  void RecommendProductsBatch(const Start& start, const CallTransport& transport,
                              const easymoney::recommender::v1::RecommendProductsBatchRequest& request,
                              easymoney::recommender::v1::RecommendProductsBatchResponse* response, Send send);
  void GetModelInfo(const Start& start, easymoney::recommender::v1::GetModelInfoResponse* response, Send send);
  // Answers once the event is durable (or refused), possibly on another
  // thread: `send` is called exactly once, and `response` and `request`'s
  // fields are read before ReportFeedback returns or when `send` runs.
  void ReportFeedback(const Start& start, const CallTransport& transport,
                      const easymoney::recommender::v1::ReportFeedbackRequest& request,
                      easymoney::recommender::v1::ReportFeedbackResponse* response,
                      std::function<void(const grpc::Status&)> send);

 private:
  // Whether this answer is one of the served_log_sample share written to
  // the event log.
  bool SampleServed() const;

  ServerMetrics* const metrics_;
  const ModelManager* const models_;
  Admission* const admission_;
  WindowStats* const window_;
  FeedbackRecorder* const feedback_;
  const RequestIdSigner* const request_ids_;
  EventLog* const event_log_;
  // A uniform 64-bit draw at or below this logs the answer; 0: none.
  const uint64_t served_log_threshold_;
};

}  // namespace easymoney

#endif  // EASYMONEY_SERVER_RECOMMENDER_CALLS_H_
