#include "server/shadow_comparison.h"

#include <algorithm>

#include "core/model/recommender.h"
#include "server/query_conversion.h"

namespace easymoney {

namespace v1 = easymoney::recommender::v1;

std::optional<ShadowComparison> ShadowComparison::Prepare(const ServingSet& serving,
                                                          const v1::RecommendProductsRequest& request,
                                                          const v1::RecommendProductsResponse& response) {
  if (!serving.Shadows(request.customer_id())) return std::nullopt;
  ShadowComparison comparison;
  comparison.request_ = request;
  for (const auto& product : response.products()) comparison.served_.push_back(product.product_id());
  return comparison;
}

void ShadowComparison::Run(const ServingSet& serving, const ShadowMetrics& metrics) const {
  absl::StatusOr<Recommendation> shadow = Recommend(*serving.shadow, QueryOf(request_));
  metrics.requests->Increment();
  if (!shadow.ok() || served_.empty()) return;
  int common = 0;
  for (const ScoredIndex& scored : shadow->products) {
    const std::string& id = serving.shadow->product(scored.index).id();
    common += std::find(served_.begin(), served_.end(), id) != served_.end();
  }
  metrics.overlap->Observe(static_cast<double>(common) / static_cast<double>(served_.size()));
}

}  // namespace easymoney
