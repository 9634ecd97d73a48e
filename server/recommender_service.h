#ifndef EASYMONEY_SERVER_RECOMMENDER_SERVICE_H_
#define EASYMONEY_SERVER_RECOMMENDER_SERVICE_H_

#include <atomic>
#include <memory>

#include "core/canary_analysis.h"
#include "core/model_manager.h"
#include "easymoney/recommender/v1/recommender.grpc.pb.h"
#include "core/event_log.h"
#include "core/feedback_recorder.h"
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
  // `window` (borrowed, may be null) receives per-variant request outcomes
  // for automatic canary analysis while a canary serves.
  // `feedback` and `event_log` (borrowed, may be null: no event log) record
  // ReportFeedback and a `served_log_sample` share of the answers.
  RecommenderService(ServerMetrics* metrics, WindowStats* window, FeedbackRecorder* feedback = nullptr,
                     EventLog* event_log = nullptr, double served_log_sample = 1.0)
      : metrics_(metrics),
        window_(window),
        feedback_(feedback),
        event_log_(event_log),
        served_log_threshold_(SampleThreshold(served_log_sample)) {}

  // Makes `state` the one new requests use. Requests already running keep
  // the state they loaded.
  void Publish(std::shared_ptr<const ServingState> state) {
    state_.store(std::move(state), std::memory_order_release);
  }
  std::shared_ptr<const ServingState> Current() const { return state_.load(std::memory_order_acquire); }

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

  ServerMetrics* const metrics_;
  WindowStats* const window_;
  FeedbackRecorder* const feedback_;
  EventLog* const event_log_;
  const uint64_t served_log_threshold_;
  std::atomic<std::shared_ptr<const ServingState>> state_;
};

}  // namespace easymoney

#endif  // EASYMONEY_SERVER_RECOMMENDER_SERVICE_H_
