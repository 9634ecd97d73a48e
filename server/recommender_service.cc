#include "server/recommender_service.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "core/recommender.h"
#include "server/status_conversion.h"

namespace easymoney {
namespace {

namespace v1 = easymoney::recommender::v1;

v1::Strategy ToProto(Strategy strategy) {
  switch (strategy) {
    case Strategy::kPersonalised:
      return v1::STRATEGY_PERSONALISED;
    case Strategy::kPopular:
      return v1::STRATEGY_POPULAR;
  }
  return v1::STRATEGY_UNSPECIFIED;
}

RecommendationQuery QueryOf(const v1::RecommendProductsRequest& request) {
  RecommendationQuery query;
  query.customer_id = request.customer_id();
  query.num_results = request.num_results();
  query.include_held = request.include_held();
  if (request.has_current_holdings()) {
    auto& held = query.current_holdings.emplace();
    held.reserve(static_cast<size_t>(request.current_holdings().product_ids_size()));
    for (const std::string& id : request.current_holdings().product_ids()) held.emplace_back(id);
  }
  return query;
}

bool IsServerError(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::UNKNOWN:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
    case grpc::StatusCode::INTERNAL:
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DATA_LOSS:
      return true;
    default:
      return false;
  }
}

// Scores the request with the shadow version and records how much of the
// served answer it reproduces. Runs after the response is sent.
void CompareWithShadow(const ServingState& state, const v1::RecommendProductsRequest& request,
                       const std::vector<std::string>& served) {
  absl::StatusOr<Recommendation> shadow = Recommend(*state.serving->shadow, QueryOf(request));
  state.shadow_metrics->requests->Increment();
  if (!shadow.ok() || served.empty()) return;
  int common = 0;
  for (const ScoredIndex& scored : shadow->products) {
    const std::string& id = state.serving->shadow->product(scored.index).id();
    common += std::find(served.begin(), served.end(), id) != served.end();
  }
  state.shadow_metrics->overlap->Observe(static_cast<double>(common) / static_cast<double>(served.size()));
}

grpc::Status Answer(const Model& model, const VersionMetrics& metrics, const v1::RecommendProductsRequest& request,
                    v1::RecommendProductsResponse* response) {
  absl::StatusOr<Recommendation> result = Recommend(model, QueryOf(request));
  if (!result.ok()) return ToGrpcStatus(result.status());

  response->set_model_version(model.version());
  response->set_strategy(ToProto(result->strategy));
  if (result->cluster_id.has_value()) response->set_cluster_id(*result->cluster_id);
  for (const ScoredIndex& scored : result->products) {
    const auto& product = model.product(scored.index);
    v1::RecommendedProduct* out = response->add_products();
    out->set_product_id(product.id());
    out->set_display_name(product.name());
    out->set_score(scored.score);
    metrics.recommendations[scored.index]->Increment();
  }
  return grpc::Status::OK;
}

}  // namespace

grpc::ServerUnaryReactor* RecommenderService::RecommendProducts(
    grpc::CallbackServerContext* context, const v1::RecommendProductsRequest* request,
    v1::RecommendProductsResponse* response) {
  const auto start = std::chrono::steady_clock::now();
  // One snapshot for the whole request: a swap mid-request cannot mix
  // versions, and the models stay alive until this reference is dropped.
  const std::shared_ptr<const ServingState> state = state_.load(std::memory_order_acquire);
  grpc::Status status;
  const VersionMetrics* metrics = &metrics_->without_model();
  if (state == nullptr) {
    status = grpc::Status(grpc::StatusCode::UNAVAILABLE, "no model version is loaded yet");
  } else {
    const Variant variant = state->serving->RouteOf(request->customer_id());
    metrics = state->metrics[static_cast<int>(variant)].get();
    status = Answer(state->serving->ModelFor(variant), *metrics, *request, response);
    if (status.ok()) {
      response->set_variant(variant == Variant::kCanary ? v1::VARIANT_CANARY : v1::VARIANT_STABLE);
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  metrics->RecordRequest(status.error_code(), seconds);
  if (state != nullptr && state->serving->canary && window_ != nullptr) {
    window_->Record(state->serving->RouteOf(request->customer_id()), IsServerError(status.error_code()), seconds,
                    absl::Now());
  }
  // Shadow scoring happens after the answer is sent, on copies: the request
  // and response belong to gRPC once Finish is called.
  std::optional<v1::RecommendProductsRequest> shadow_request;
  std::vector<std::string> served;
  if (status.ok() && state != nullptr && state->serving->Shadows(request->customer_id())) {
    shadow_request = *request;
    for (const auto& product : response->products()) served.push_back(product.product_id());
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(status);
  if (shadow_request.has_value()) CompareWithShadow(*state, *shadow_request, served);
  return reactor;
}

}  // namespace easymoney
