#include "absl/strings/string_view.h"
#include "core/recommender.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace easymoney {
namespace {

absl::StatusOr<int64_t> ParseCustomerId(absl::string_view text) {
  if (text.empty()) return absl::InvalidArgumentError("customer_id is empty");
  if (text.size() > kMaxCustomerIdLength) {
    return absl::InvalidArgumentError(absl::StrCat("customer_id is ", text.size(),
                                                   " characters long; a pk_cid has at most ",
                                                   kMaxCustomerIdLength, " digits"));
  }
  int64_t id = 0;
  if (!std::all_of(text.begin(), text.end(), [](char c) { return absl::ascii_isdigit(c); }) ||
      !absl::SimpleAtoi(text, &id) || id <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("customer_id must be a positive decimal number (easyMoney pk_cid), got '",
                     absl::CHexEscape(text), "'"));
  }
  return id;
}

}  // namespace

Strategy ScoreProducts(const RowMajorMatrix& product_factors, std::span<const float> customer_factors,
                       std::span<const float> popularity, float popularity_weight, std::span<float> scores) {
  const Eigen::Map<const Eigen::VectorXf> customer(customer_factors.data(),
                                                   static_cast<Eigen::Index>(customer_factors.size()));
  // A customer who held nothing at training time has all-zero factors (they
  // are R V), which would score every product 0: rank them like an unknown
  // customer instead.
  if (customer.size() > 0 && customer.squaredNorm() > 0) {
    Eigen::Map<Eigen::VectorXf> out(scores.data(), product_factors.rows());
    out.noalias() = product_factors * customer;
    if (popularity_weight != 0) {
      out += popularity_weight * Eigen::Map<const Eigen::VectorXf>(popularity.data(), product_factors.rows());
    }
    return Strategy::kPersonalised;
  }
  std::copy(popularity.begin(), popularity.end(), scores.begin());
  return Strategy::kPopular;
}

absl::StatusOr<Recommendation> Recommend(const Model& model, const RecommendationQuery& query) {
  auto customer_id = ParseCustomerId(query.customer_id);
  if (!customer_id.ok()) return customer_id.status();
  const int num_products = model.num_products();
  if (query.num_results < 0 || query.num_results > num_products) {
    return absl::InvalidArgumentError(absl::StrCat("num_results ", query.num_results,
                                                   " is outside [0, ", num_products,
                                                   "] (0 means ", kDefaultNumResults,
                                                   "; the catalogue has ", num_products,
                                                   " products)"));
  }
  const int num_results =
      query.num_results == 0 ? std::min(kDefaultNumResults, num_products) : query.num_results;

  std::vector<uint8_t> excluded(static_cast<size_t>(num_products), 0);
  if (query.current_holdings.has_value()) {
    const auto& held = *query.current_holdings;
    for (size_t i = 0; i < held.size(); ++i) {
      const std::optional<int32_t> product = model.FindProduct(held[i]);
      if (!product.has_value()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "current_holdings.product_ids[", i, "]: unknown product id '",
            absl::CHexEscape(held[i].substr(0, 64)), "'"));
      }
      excluded[*product] = 1;
    }
  }

  Recommendation result;
  std::vector<float> scores(static_cast<size_t>(num_products));
  const std::optional<int64_t> row = model.FindCustomer(*customer_id);
  std::span<const float> factors;
  if (row.has_value()) {
    result.cluster_id = model.customer_cluster(*row);
    factors = model.customer_factors(*row);
    if (!query.current_holdings.has_value()) {
      for (int32_t product : model.customer_holdings(*row)) excluded[product] = 1;
    }
  }
  // Fold-in: the caller knows holdings the model did not see. PureSVD's
  // customer factors are the holdings row times V, so the same product
  // gives factors for the holdings as they are now (recency weighting is
  // not known at request time: every holding counts 1).
  std::vector<float> folded;
  if (query.current_holdings.has_value()) {
    bool differs = !row.has_value();
    if (row.has_value()) {
      const std::span<const int32_t> snapshot = model.customer_holdings(*row);
      int held = 0;
      for (int p = 0; p < num_products; ++p) held += excluded[p];
      differs = held != static_cast<int>(snapshot.size()) ||
                std::any_of(snapshot.begin(), snapshot.end(), [&](int32_t p) { return excluded[p] == 0; });
    }
    if (differs) {
      folded.assign(static_cast<size_t>(model.num_factors()), 0.0f);
      Eigen::Map<Eigen::VectorXf> u(folded.data(), model.num_factors());
      for (int p = 0; p < num_products; ++p) {
        if (excluded[p] != 0) u += model.arrays().product_factors.row(p).transpose();
      }
      factors = folded;
    }
  }
  result.strategy = ScoreProducts(model.arrays().product_factors, factors, model.arrays().product_popularity,
                                  model.popularity_weight(), scores);
  if (!folded.empty() && result.strategy == Strategy::kPersonalised) result.strategy = Strategy::kFoldIn;
  if (query.include_held) std::fill(excluded.begin(), excluded.end(), 0);
  for (int p = 0; p < num_products; ++p) {
    if (model.product(p).never_recommend()) excluded[p] = 1;
  }
  result.products = SelectTopN(scores, excluded, num_results);
  return result;
}

}  // namespace easymoney
