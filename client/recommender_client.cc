#include "client/recommender_client.h"

#include <chrono>
#include <random>

#include <grpcpp/client_context.h>

#include "client/load_balancing.h"

namespace easymoney {
namespace {

absl::Status FromGrpc(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

}  // namespace

RecommenderClient::RecommenderClient(Options options, std::shared_ptr<grpc::Channel> channel)
    : options_(std::move(options)),
      throttle_(options_.adaptive_throttle > 0
                    ? std::make_unique<AdaptiveThrottle>(
                          AdaptiveThrottle::Options{.accepts_multiplier = options_.adaptive_throttle,
                                                    .window = options_.adaptive_throttle_window})
                    : nullptr),
      channel_(std::move(channel)),
      recommender_(easymoney::recommender::v1::Recommender::NewStub(channel_)),
      health_(grpc::health::v1::Health::NewStub(channel_)),
      admin_(easymoney::recommender::v1::ModelAdmin::NewStub(channel_)) {}

absl::StatusOr<std::unique_ptr<RecommenderClient>> RecommenderClient::Create(const Options& options) {
  auto credentials = ChannelCredentialsFor(options.security);
  if (!credentials.ok()) return credentials.status();
  auto channel = CreateBalancedChannel(options.target, options.load_balancing_policy, *std::move(credentials));
  if (!channel.ok()) return channel.status();
  return std::unique_ptr<RecommenderClient>(new RecommenderClient(options, *std::move(channel)));
}

absl::StatusOr<easymoney::recommender::v1::RecommendProductsResponse> RecommenderClient::Recommend(
    const easymoney::recommender::v1::RecommendProductsRequest& request) const {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(options_.timeout));
  if (!options_.security.token.empty()) context.AddMetadata("authorization", "Bearer " + options_.security.token);
  if (throttle_ != nullptr) {
    thread_local std::mt19937_64 random(std::random_device{}());
    if (!throttle_->Admit(absl::Now(), std::uniform_real_distribution<double>(0, 1)(random))) {
      return absl::ResourceExhaustedError(
          "refused by the client: the server has been refusing calls for overload (adaptive throttling); "
          "retry with backoff");
    }
  }
  easymoney::recommender::v1::RecommendProductsResponse response;
  const grpc::Status status = recommender_->RecommendProducts(&context, request, &response);
  if (throttle_ != nullptr) {
    throttle_->Record(absl::Now(), status.error_code() != grpc::StatusCode::RESOURCE_EXHAUSTED);
  }
  if (!status.ok()) return FromGrpc(status);
  return response;
}

namespace {

// One unary call with the deadline, the bearer token and the operator
// metadata applied.
template <typename Response, typename Request, typename Method>
absl::StatusOr<Response> AdminCall(const RecommenderClient::Options& options, Method method, const Request& request) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(options.timeout));
  if (!options.operator_name.empty()) context.AddMetadata("x-operator", options.operator_name);
  if (!options.security.token.empty()) context.AddMetadata("authorization", "Bearer " + options.security.token);
  Response response;
  const grpc::Status status = method(&context, request, &response);
  if (!status.ok()) return FromGrpc(status);
  return response;
}

}  // namespace

absl::StatusOr<easymoney::recommender::v1::RecommendProductsBatchResponse> RecommenderClient::RecommendBatch(
    const easymoney::recommender::v1::RecommendProductsBatchRequest& request) const {
  namespace v1 = easymoney::recommender::v1;
  return AdminCall<v1::RecommendProductsBatchResponse>(
      options_, [this](auto* c, const auto& q, auto* r) { return recommender_->RecommendProductsBatch(c, q, r); },
      request);
}

absl::StatusOr<easymoney::recommender::v1::GetModelInfoResponse> RecommenderClient::GetModelInfo() const {
  namespace v1 = easymoney::recommender::v1;
  return AdminCall<v1::GetModelInfoResponse>(
      options_, [this](auto* c, const auto& q, auto* r) { return recommender_->GetModelInfo(c, q, r); },
      v1::GetModelInfoRequest());
}

absl::StatusOr<easymoney::recommender::v1::ReportFeedbackResponse> RecommenderClient::ReportFeedback(
    const easymoney::recommender::v1::ReportFeedbackRequest& request) const {
  namespace v1 = easymoney::recommender::v1;
  return AdminCall<v1::ReportFeedbackResponse>(
      options_, [this](auto* c, const auto& q, auto* r) { return recommender_->ReportFeedback(c, q, r); }, request);
}

absl::StatusOr<easymoney::recommender::v1::ListVersionsResponse> RecommenderClient::ListVersions() const {
  namespace v1 = easymoney::recommender::v1;
  return AdminCall<v1::ListVersionsResponse>(
      options_, [this](auto* c, const auto& q, auto* r) { return admin_->ListVersions(c, q, r); },
      v1::ListVersionsRequest());
}

absl::StatusOr<easymoney::recommender::v1::RoutingResponse> RecommenderClient::SetRouting(
    const easymoney::recommender::v1::SetRoutingRequest& request) const {
  namespace v1 = easymoney::recommender::v1;
  return AdminCall<v1::RoutingResponse>(
      options_, [this](auto* c, const auto& q, auto* r) { return admin_->SetRouting(c, q, r); }, request);
}

absl::StatusOr<easymoney::recommender::v1::RoutingResponse> RecommenderClient::PromoteCanary() const {
  namespace v1 = easymoney::recommender::v1;
  return AdminCall<v1::RoutingResponse>(
      options_, [this](auto* c, const auto& q, auto* r) { return admin_->PromoteCanary(c, q, r); },
      v1::PromoteCanaryRequest());
}

absl::StatusOr<easymoney::recommender::v1::RoutingResponse> RecommenderClient::Rollback() const {
  namespace v1 = easymoney::recommender::v1;
  return AdminCall<v1::RoutingResponse>(
      options_, [this](auto* c, const auto& q, auto* r) { return admin_->Rollback(c, q, r); }, v1::RollbackRequest());
}

absl::StatusOr<easymoney::recommender::v1::ListVersionsResponse> RecommenderClient::Rescan() const {
  namespace v1 = easymoney::recommender::v1;
  return AdminCall<v1::ListVersionsResponse>(
      options_, [this](auto* c, const auto& q, auto* r) { return admin_->Rescan(c, q, r); }, v1::RescanRequest());
}

absl::StatusOr<grpc::health::v1::HealthCheckResponse::ServingStatus> RecommenderClient::CheckHealth(
    const std::string& service) const {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(options_.timeout));
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  const grpc::Status status = health_->Check(&context, request, &response);
  if (!status.ok()) return FromGrpc(status);
  return response.status();
}

}  // namespace easymoney
