#ifndef EASYMONEY_CORE_MODEL_RECOMMENDER_H_
#define EASYMONEY_CORE_MODEL_RECOMMENDER_H_

#include <cstdint>
#include <optional>

#include <vector>

#include "absl/strings/string_view.h"
#include "absl/status/statusor.h"
#include "core/model/model.h"
#include "core/model/scoring_kernel.h"
#include "core/model/top_n.h"

namespace easymoney {

// How an answer was made (mirrors the API's Strategy enum).
enum class Strategy {
  // The customer's own SVD factors scored the catalogue.
  kPersonalised,
  // The customer is unknown to the model, or held nothing when it was
  // trained: most popular products not held.
  kPopular,
  // Factors folded in from the caller's current holdings.
  kFoldIn,
  // Cold start: the profile's nearest cluster's mean factors.
  kCluster,
};

// A caller-supplied profile in easyMoney's codes (all optional; views are
// borrowed for the call).
struct ProfileInput {
  std::optional<int> age;
  absl::string_view gender;  // "H", "V" or empty.
  std::optional<double> salary;
  absl::string_view segment;  // kSegments or empty.
  std::optional<int> region_code;
  absl::string_view entry_channel;
  absl::string_view entry_date;  // YYYY-MM-DD or empty.
  std::optional<bool> active;
  std::optional<bool> deceased;
};

struct RecommendationQuery {
  // easyMoney's pk_cid as decimal text.
  absl::string_view customer_id;
  // 0 means kDefaultNumResults.
  int num_results = 0;
  bool include_held = false;
  // The caller's real-time holdings; when set they replace the model's
  // snapshot for exclusion. Borrowed for the call.
  std::optional<std::vector<absl::string_view>> current_holdings;
  // Cold start and product rules.
  std::optional<ProfileInput> profile;
};

struct Recommendation {
  TopNList products;  // Catalogue indices, best first.
  std::optional<int32_t> cluster_id;
  Strategy strategy = Strategy::kPersonalised;
  // Whether the version knows the customer (has their factors).
  bool known_customer = false;
};

inline constexpr int kDefaultNumResults = 5;
// Ids longer than int64's 19 digits cannot be pk_cids; refusing them early
// also keeps hostile inputs out of error messages.
inline constexpr size_t kMaxCustomerIdLength = 19;

// Scores every product for a customer whose factor vector is
// `customer_factors`:
//   score[p] = customer_factors . product_factors[p] + bias[p]
// where bias = ProductScoreBias(popularity, popularity_weight).
// The popularity prior ranks the products the factors say nothing about (the
// trainer chooses its weight on validation data; 0 is plain PureSVD). An
// empty or all-zero vector (unknown customer, or one who held nothing at
// training time) scores by `popularity` alone. Returns which path scored.
// Shared by the server and the offline evaluation so both rank alike.
Strategy ScoreProducts(const PackedFactors& product_factors, std::span<const float> customer_factors,
                       std::span<const float> popularity, std::span<const float> bias, std::span<float> scores);

// Ranks `model`'s catalogue for one customer. Thread-safe: reads only the
// immutable model.
//
// Errors (INVALID_ARGUMENT, message names the field): customer_id empty, not
// decimal digits or too long; num_results negative or larger than the
// catalogue; a current_holdings product id the catalogue does not know; a
// profile value that cannot be right (age outside 0..130, negative salary,
// unknown segment or gender code, malformed entry_date).
//
// Order of strategies: the customer's own factors (personalised), factors
// folded in from current holdings that differ from the snapshot (fold-in),
// the nearest cluster's mean factors for an unknown customer with a profile
// (cluster), else popularity. Product rules (manifest `rules`) then remove
// products the customer may not be offered.
//
// Allocation-free for a known customer with up to kInlineResults results:
// scratch space is per thread and reused, scoring is fused with selection.
absl::StatusOr<Recommendation> Recommend(const Model& model, const RecommendationQuery& query);

}  // namespace easymoney

#endif  // EASYMONEY_CORE_MODEL_RECOMMENDER_H_
