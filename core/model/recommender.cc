#include "absl/strings/string_view.h"
#include "core/model/recommender.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "core/model/customer_features.h"
#include "core/model/easymoney_schema.h"
#include "core/model/nearest_centroid.h"

namespace easymoney {
namespace {

// Per-thread buffers reused by every request on the thread, so the hot path
// does not allocate. Recommend never re-enters itself.
struct Scratch {
  std::vector<uint8_t> excluded;
  std::vector<int32_t> held_now;
  std::vector<float> folded;
  std::vector<float> encoded;
};

Scratch& ThreadScratch() {
  thread_local Scratch scratch;
  return scratch;
}

// False for an empty or all-zero factor vector: a customer who held nothing
// at training time has all-zero factors (they are R V), which would score
// every product 0; they are ranked like an unknown customer instead.
bool HasSignal(std::span<const float> factors) {
  return std::any_of(factors.begin(), factors.end(), [](float value) { return value != 0; });
}

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

// The day a profile's tenure is measured to: the training partition's date,
// as the trainer measured it, so a profile lands where the training
// customers of the same tenure did; versions without a partition date
// measure to today.
absl::CivilDay TenureReference(const Model& model) {
  absl::CivilDay partition;
  if (absl::ParseCivilTime(model.manifest().training().partition(), &partition)) return partition;
  return absl::ToCivilDay(absl::Now(), absl::UTCTimeZone());
}

// Validates a profile and converts it for the feature encoder.
absl::StatusOr<CustomerProfile> ToCustomerProfile(const ProfileInput& input, int held, absl::CivilDay reference) {
  CustomerProfile profile;
  if (input.age.has_value()) {
    if (*input.age < 0 || *input.age > 130) {
      return absl::InvalidArgumentError(absl::StrCat("profile.age ", *input.age, " is outside 0..130"));
    }
    profile.age = *input.age;
  }
  if (input.salary.has_value()) {
    if (!(*input.salary >= 0) || !std::isfinite(*input.salary)) {
      return absl::InvalidArgumentError(absl::StrCat("profile.salary ", *input.salary, " must be a non-negative number"));
    }
    profile.salary = *input.salary;
  }
  if (!input.gender.empty()) {
    if (input.gender != "H" && input.gender != "V") {
      return absl::InvalidArgumentError(absl::StrCat("profile.gender '", absl::CHexEscape(input.gender.substr(0, 16)),
                                                     "' is not H or V"));
    }
    profile.gender = std::string(input.gender);
  }
  if (!input.segment.empty()) {
    if (std::find(kSegments.begin(), kSegments.end(), input.segment) == kSegments.end()) {
      return absl::InvalidArgumentError(absl::StrCat("profile.segment '", absl::CHexEscape(input.segment.substr(0, 32)),
                                                     "' is not one of 01 - TOP, 02 - PARTICULARES, 03 - UNIVERSITARIO"));
    }
    profile.segment = std::string(input.segment);
  }
  if (!input.entry_date.empty()) {
    absl::CivilDay day;
    if (!absl::ParseCivilTime(input.entry_date, &day) || absl::FormatCivilTime(day) != input.entry_date) {
      return absl::InvalidArgumentError(absl::StrCat("profile.entry_date '", absl::CHexEscape(input.entry_date.substr(0, 16)),
                                                     "' is not a valid YYYY-MM-DD date"));
    }
    profile.tenure_months = std::max(0.0, static_cast<double>(reference - day) / 30.4375);
  }
  if (!input.entry_channel.empty()) profile.entry_channel = std::string(input.entry_channel);
  profile.active = input.active;
  profile.num_products = held;
  profile.recent_acquisitions = held;
  return profile;
}

}  // namespace

Strategy ScoreProducts(const PackedFactors& product_factors, std::span<const float> customer_factors,
                       std::span<const float> popularity, std::span<const float> bias, std::span<float> scores) {
  if (HasSignal(customer_factors)) {
    ScoreAll(product_factors, customer_factors, bias, scores);
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

  Scratch& scratch = ThreadScratch();
  std::vector<uint8_t>& excluded = scratch.excluded;
  excluded.assign(static_cast<size_t>(num_products), 0);
  std::vector<int32_t>& held_now = scratch.held_now;  // Distinct, as the caller sent them.
  held_now.clear();
  if (query.current_holdings.has_value()) {
    const auto& held = *query.current_holdings;
    for (size_t i = 0; i < held.size(); ++i) {
      const std::optional<int32_t> product = model.FindProduct(held[i]);
      if (!product.has_value()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "current_holdings.product_ids[", i, "]: unknown product id '",
            absl::CHexEscape(held[i].substr(0, 64)), "'"));
      }
      if (excluded[*product] == 0) held_now.push_back(*product);
      excluded[*product] = 1;
    }
  }
  const int current_held = static_cast<int>(held_now.size());

  Recommendation result;
  const std::optional<int64_t> row = model.FindCustomer(*customer_id);
  std::span<const float> factors;
  result.known_customer = row.has_value();
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
  bool folded = false;
  if (query.current_holdings.has_value()) {
    bool differs = !row.has_value();
    if (row.has_value()) {
      const std::span<const int32_t> snapshot = model.customer_holdings(*row);
      differs = current_held != static_cast<int>(snapshot.size()) ||
                std::any_of(snapshot.begin(), snapshot.end(), [&](int32_t p) { return excluded[p] == 0; });
    }
    if (differs) {
      // Summed in catalogue order, whatever order the caller sent.
      std::sort(held_now.begin(), held_now.end());
      scratch.folded.assign(static_cast<size_t>(model.num_factors()), 0.0f);
      Eigen::Map<Eigen::VectorXf> u(scratch.folded.data(), model.num_factors());
      for (int32_t p : held_now) u += model.product_factors().row(p).transpose();
      factors = scratch.folded;
      folded = true;
    }
  }
  // Cold start: an unknown customer whose holdings say nothing (none sent,
  // or none held) but who sent a profile gets its nearest cluster's factors.
  std::optional<CustomerProfile> profile;
  if (query.profile.has_value()) {
    auto converted = ToCustomerProfile(*query.profile, current_held, TenureReference(model));
    if (!converted.ok()) return converted.status();
    profile = *std::move(converted);
  }
  bool from_cluster = false;
  if (!row.has_value() && !HasSignal(factors) && profile.has_value() && !model.feature_spec().empty()) {
    scratch.encoded.resize(model.feature_spec().size());
    EncodeProfile(model.feature_spec(), *profile, scratch.encoded);
    const int32_t cluster = NearestCentroid(model.cluster_centroids(), scratch.encoded.data());
    result.cluster_id = cluster;
    factors = model.cluster_mean_factors(cluster);
    from_cluster = true;
  }
  const bool personalised = HasSignal(factors);
  result.strategy = !personalised ? Strategy::kPopular
                    : from_cluster ? Strategy::kCluster
                    : folded       ? Strategy::kFoldIn
                                   : Strategy::kPersonalised;
  if (query.include_held) std::fill(excluded.begin(), excluded.end(), 0);
  // Product rules: what the request's profile says, else what the model
  // stored about the customer.
  std::optional<int> age = profile.has_value() && profile->age.has_value()
                               ? std::optional<int>(static_cast<int>(*profile->age))
                               : (row.has_value() ? model.customer_age(*row) : std::nullopt);
  const bool deceased = query.profile.has_value() && query.profile->deceased.has_value()
                            ? *query.profile->deceased
                            : (row.has_value() && model.customer_deceased(*row).value_or(false));
  if (deceased && model.manifest().rules().nothing_for_deceased()) {
    result.products.clear();
    return result;
  }
  for (int p = 0; p < num_products; ++p) {
    if (model.product(p).never_recommend()) excluded[p] = 1;
    // Customers of unknown age are not offered age-restricted products.
    const int32_t minimum = model.minimum_age(p);
    if (minimum >= 0 && (!age.has_value() || *age < minimum)) excluded[p] = 1;
  }
  if (personalised) {
    TopNScores(model.packed_product_factors(), factors, model.score_bias(), excluded, num_results, result.products);
  } else {
    SelectTopNInto(model.product_popularity(), excluded, num_results, result.products);
  }
  return result;
}

}  // namespace easymoney
