#include "server/query_conversion.h"

namespace easymoney {

namespace v1 = easymoney::recommender::v1;

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
  if (request.has_profile()) {
    const v1::CustomerProfile& in = request.profile();
    ProfileInput& profile = query.profile.emplace();
    if (in.has_age()) profile.age = in.age();
    profile.gender = in.gender();
    if (in.has_salary()) profile.salary = in.salary();
    profile.segment = in.segment();
    if (in.has_region_code()) profile.region_code = in.region_code();
    profile.entry_channel = in.entry_channel();
    profile.entry_date = in.entry_date();
    if (in.has_active()) profile.active = in.active();
    if (in.has_deceased()) profile.deceased = in.deceased();
  }
  return query;
}

}  // namespace easymoney
