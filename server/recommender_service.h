#ifndef EASYMONEY_SERVER_RECOMMENDER_SERVICE_H_
#define EASYMONEY_SERVER_RECOMMENDER_SERVICE_H_

#include <atomic>
#include <memory>

#include "absl/time/time.h"

#include "core/cpu_shed_controller.h"
#include "core/canary_analysis.h"
#include "core/model_manager.h"
#include "easymoney/recommender/v1/recommender.grpc.pb.h"
#include "core/event_log.h"
#include "core/feedback_recorder.h"
#include "server/call_authorizer.h"
#include "server/server_metrics.h"

namespace easymoney {

// What serves and the metric handles of each variant, published together so
// a request never pairs a model with another version's counters.
// Largest RecommendProductsBatch accepted: a few hundred customers is a page
// of lists or a campaign chunk, and bounds one call's work and memory.
inline constexpr int kMaxBatchSize = 500;

struct ServingState {
  std::shared_ptr<const ServingSet> serving;
  std::array<std::shared_ptr<const VersionMetrics>, kNumVariants> metrics;  // Canary's null without a rollout.
  std::shared_ptr<const ShadowMetrics> shadow_metrics;                       // Null without a shadow.
};

// The easymoney.recommender.v1.Recommender gRPC service: translates protos
// to core queries and core results back, nothing more.
//
// Thread-safe: handlers run concurrently on gRPC's threads; Publish may be
// called from any thread at any time.
class RecommenderService final
    : public easymoney::recommender::v1::Recommender::CallbackService {
 public:
  struct Options {
    ServerMetrics* metrics = nullptr;  // Required.
    // Receives per-variant request outcomes for automatic canary analysis
    // while a canary serves; may be null.
    WindowStats* window = nullptr;
    // Record ReportFeedback and a `served_log_sample` share of the answers;
    // null: no event log (feedback is refused).
    FeedbackRecorder* feedback = nullptr;
    EventLog* event_log = nullptr;
    double served_log_sample = 1.0;
    // Checks every call's token for the recommend role. Required.
    const CallAuthorizer* authorizer = nullptr;
    // Calls allowed between handler start and response sent; beyond it,
    // once the count has stayed there for `overload_grace`, a call is
    // refused at once with RESOURCE_EXHAUSTED. 0: no limit.
    int max_in_flight = 0;
    absl::Duration overload_grace = absl::Milliseconds(100);
    // Refuses its shed_share() of new calls with RESOURCE_EXHAUSTED; null:
    // no CPU shedding. Borrowed.
    const CpuShedController* cpu_shed = nullptr;
  };
  // Everything in `options` is borrowed and must outlive the service.
  explicit RecommenderService(const Options& options)
      : metrics_(options.metrics),
        window_(options.window),
        feedback_(options.feedback),
        event_log_(options.event_log),
        authorizer_(options.authorizer),
        max_in_flight_(options.max_in_flight),
        cpu_shed_(options.cpu_shed),
        overload_grace_ns_(absl::ToInt64Nanoseconds(options.overload_grace)),
        served_log_threshold_(SampleThreshold(options.served_log_sample)) {}

  // Makes `state` the one new requests use. Requests already running keep
  // the state they loaded.
  void Publish(std::shared_ptr<const ServingState> state) {
    state_.store(std::move(state), std::memory_order_release);
  }
  std::shared_ptr<const ServingState> Current() const { return state_.load(std::memory_order_acquire); }
  // Calls started and not yet done, for the in-flight gauge.
  int64_t in_flight() const { return in_flight_.load(std::memory_order_relaxed); }
  // Wall time the handlers have spent on admitted calls' own work (routing,
  // scoring, building the response), summed since start: what refusing a
  // call would save, for the CPU shedding controller.
  int64_t work_nanos() const { return work_nanos_.load(std::memory_order_relaxed); }
  // Calls that passed the token check, and of them those admitted past the
  // CPU shedding and the in-flight limit, since start (counted only while
  // CPU shedding is on).
  int64_t calls_checked() const { return calls_checked_.load(std::memory_order_relaxed); }
  int64_t calls_admitted() const { return calls_admitted_.load(std::memory_order_relaxed); }
  // The calls their clients refused locally, estimated from the share each
  // arriving checked call reports (core/shed_advice.h: the sum of
  // DemandWeight - 1), in millionths of a call since start. Read only
  // while CPU shedding refuses or advises.
  int64_t client_refused_micros() const { return client_refused_micros_.load(std::memory_order_relaxed); }
  // The queueing delays the arriving checked calls reported
  // (x-easymoney-client-delay-ms, shed_advice.h) since start: their sum in
  // microseconds, their count, and how many exceeded the controller's
  // queue_delay_target and its shed_queue_delay. Read, like the refusals,
  // only while CPU shedding refuses or advises. The four are read one after
  // another, so a report landing meanwhile may count in one window and its
  // delay in the next.
  struct DelayReports {
    int64_t micros = 0;
    int64_t reports = 0;
    int64_t delayed = 0;
    int64_t long_delayed = 0;
  };
  DelayReports client_delay_reports() const {
    return {client_delay_micros_.load(std::memory_order_relaxed),
            client_delay_reports_.load(std::memory_order_relaxed),
            client_delayed_reports_.load(std::memory_order_relaxed),
            client_long_delayed_reports_.load(std::memory_order_relaxed)};
  }

  grpc::ServerUnaryReactor* RecommendProductsBatch(
      grpc::CallbackServerContext* context,
      const easymoney::recommender::v1::RecommendProductsBatchRequest* request,
      easymoney::recommender::v1::RecommendProductsBatchResponse* response) override;
  grpc::ServerUnaryReactor* GetModelInfo(grpc::CallbackServerContext* context,
                                         const easymoney::recommender::v1::GetModelInfoRequest* request,
                                         easymoney::recommender::v1::GetModelInfoResponse* response) override;
  grpc::ServerUnaryReactor* RecommendProducts(
      grpc::CallbackServerContext* context,
      const easymoney::recommender::v1::RecommendProductsRequest* request,
      easymoney::recommender::v1::RecommendProductsResponse* response) override;
  grpc::ServerUnaryReactor* ReportFeedback(grpc::CallbackServerContext* context,
                                           const easymoney::recommender::v1::ReportFeedbackRequest* request,
                                           easymoney::recommender::v1::ReportFeedbackResponse* response) override;

 private:
  // A uniform 64-bit draw below this logs the answer.
  static uint64_t SampleThreshold(double share);
  // Writes one served answer to the event log when sampled (after the
  // response has been sent; does not wait for the disk).
  void LogServed(int64_t version, Variant variant, const std::string& customer_id,
                 const easymoney::recommender::v1::RecommendProductsResponse& response);

  // Decides whether a call may proceed: the caller's token, then CPU
  // shedding (which also attaches its advice to clients, shed_advice.h),
  // then the in-flight limit. An admitted call counts as in flight until gRPC has
  // sent its response. A refusal comes back as a non-OK status; either way
  // the returned reactor is the one to finish the call with.
  grpc::ServerUnaryReactor* StartCall(grpc::CallbackServerContext* context, grpc::Status& admission);
  // Whether a call arriving with `running` calls in flight is to be shed.
  bool Overloaded(int64_t running);
  // Adds what the call's x-easymoney-client-refused and
  // x-easymoney-client-delay-ms report to client_refused_micros_ and the
  // delay counters.
  void CountClientReports(const grpc::CallbackServerContext& context);

  ServerMetrics* const metrics_;
  WindowStats* const window_;
  FeedbackRecorder* const feedback_;
  EventLog* const event_log_;
  const CallAuthorizer* const authorizer_;
  const int max_in_flight_;
  const CpuShedController* const cpu_shed_;
  std::atomic<int64_t> work_nanos_{0};
  std::atomic<int64_t> calls_checked_{0};
  std::atomic<int64_t> calls_admitted_{0};
  const int64_t overload_grace_ns_;
  // steady_clock nanoseconds since when the in-flight count has been at the
  // limit without a break; 0: below it.
  std::atomic<int64_t> over_limit_since_ns_{0};
  const uint64_t served_log_threshold_;
  // Calls started and not yet done (Finish'ed and their response sent).
  std::atomic<int64_t> in_flight_{0};

  std::atomic<std::shared_ptr<const ServingState>> state_;
  // Written only while CPU shedding refuses or advises; kept after the
  // members every call touches so that their layout does not move.
  std::atomic<int64_t> client_refused_micros_{0};
  std::atomic<int64_t> client_delay_micros_{0};
  std::atomic<int64_t> client_delay_reports_{0};
  std::atomic<int64_t> client_delayed_reports_{0};
  std::atomic<int64_t> client_long_delayed_reports_{0};
};

}  // namespace easymoney

#endif  // EASYMONEY_SERVER_RECOMMENDER_SERVICE_H_
