#include "server/recommender_service.h"

#include <chrono>
#include <vector>

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

grpc::Status Answer(const Model& model, const VersionMetrics& metrics, const v1::RecommendProductsRequest& request,
                    v1::RecommendProductsResponse* response) {
  RecommendationQuery query;
  query.customer_id = request.customer_id();
  query.num_results = request.num_results();
  query.include_held = request.include_held();
  if (request.has_current_holdings()) {
    auto& held = query.current_holdings.emplace();
    held.reserve(static_cast<size_t>(request.current_holdings().product_ids_size()));
    for (const std::string& id : request.current_holdings().product_ids()) held.emplace_back(id);
  }
  absl::StatusOr<Recommendation> result = Recommend(model, query);
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
  metrics->RecordRequest(status.error_code(),
                         std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(status);
  return reactor;
}

}  // namespace easymoney
