#ifndef EASYMONEY_CLIENT_RECOMMENDER_CLIENT_H_
#define EASYMONEY_CLIENT_RECOMMENDER_CLIENT_H_

#include <memory>
#include <string>

#include <grpcpp/channel.h>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/adaptive_throttle.h"
#include "client/channel_security.h"
#include "easymoney/recommender/v1/recommender.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace easymoney {

// A small synchronous client for recommender-server, used by
// recommender-cli and the integration tests. Depends only on the generated
// API code.
//
//   auto client = RecommenderClient::Create({.target = "127.0.0.1:50051"});
//   easymoney::recommender::v1::RecommendProductsRequest request;
//   request.set_customer_id("1375586");
//   auto response = (*client)->Recommend(request);
//
// gRPC errors come back as absl::Status with the same code and message.
// Thread-safe (one channel, shared by all calls).
class RecommenderClient {
 public:
  struct Options {
    // Any gRPC target: "127.0.0.1:50051", "dns:///recommender:50051",
    // "ipv4:127.0.0.1:50051,127.0.0.1:50052", ...
    std::string target = "127.0.0.1:50051";
    // "round_robin", "pick_first", or empty: round_robin when `target` lists
    // several addresses, else gRPC's default (see load_balancing.h).
    std::string load_balancing_policy;
    // Deadline applied to each call.
    absl::Duration timeout = absl::Seconds(5);
    // Sent as x-operator metadata on ModelAdmin calls (in the audit log's
    // "who" after the token's name).
    std::string operator_name;
    // TLS, client certificate and bearer token (default: plaintext, no
    // token).
    ChannelSecurity security;
    // Client-side adaptive throttling of Recommend (adaptive_throttle.h):
    // K, the multiple of the server's recently accepted calls this client
    // may send; 0 turns it off. Calls refused locally come back as
    // RESOURCE_EXHAUSTED "refused by the client" without reaching the
    // server. Off by default: a server refusal is already cheap and the
    // retry with backoff is the caller's.
    double adaptive_throttle = 0;
    // How far back the throttle counts calls and accepts: after an overload
    // ends, calls are refused locally until its refusals leave this window.
    absl::Duration adaptive_throttle_window = absl::Seconds(10);
  };

  // Creates the channel. Connects lazily on the first call. Errors:
  // INVALID_ARGUMENT for an empty target, an unknown policy or half a
  // client certificate; NOT_FOUND for a missing certificate file.
  static absl::StatusOr<std::unique_ptr<RecommenderClient>> Create(const Options& options);

  absl::StatusOr<easymoney::recommender::v1::RecommendProductsResponse> Recommend(
      const easymoney::recommender::v1::RecommendProductsRequest& request) const;

  absl::StatusOr<easymoney::recommender::v1::RecommendProductsBatchResponse> RecommendBatch(
      const easymoney::recommender::v1::RecommendProductsBatchRequest& request) const;
  absl::StatusOr<easymoney::recommender::v1::GetModelInfoResponse> GetModelInfo() const;
  absl::StatusOr<easymoney::recommender::v1::ReportFeedbackResponse> ReportFeedback(
      const easymoney::recommender::v1::ReportFeedbackRequest& request) const;

  // ModelAdmin calls.
  absl::StatusOr<easymoney::recommender::v1::ListVersionsResponse> ListVersions() const;
  absl::StatusOr<easymoney::recommender::v1::RoutingResponse> SetRouting(
      const easymoney::recommender::v1::SetRoutingRequest& request) const;
  absl::StatusOr<easymoney::recommender::v1::RoutingResponse> PromoteCanary() const;
  absl::StatusOr<easymoney::recommender::v1::RoutingResponse> Rollback() const;
  absl::StatusOr<easymoney::recommender::v1::ListVersionsResponse> Rescan() const;

  // grpc.health.v1 Check for `service` ("" is the whole server).
  absl::StatusOr<grpc::health::v1::HealthCheckResponse::ServingStatus> CheckHealth(
      const std::string& service = "") const;

 private:
  RecommenderClient(Options options, std::shared_ptr<grpc::Channel> channel);

  const Options options_;
  std::unique_ptr<AdaptiveThrottle> throttle_;  // Null: nothing refused locally.
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<easymoney::recommender::v1::Recommender::Stub> recommender_;
  std::unique_ptr<grpc::health::v1::Health::Stub> health_;
  std::unique_ptr<easymoney::recommender::v1::ModelAdmin::Stub> admin_;
};

}  // namespace easymoney

#endif  // EASYMONEY_CLIENT_RECOMMENDER_CLIENT_H_
