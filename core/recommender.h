#ifndef EASYMONEY_CORE_RECOMMENDER_H_
#define EASYMONEY_CORE_RECOMMENDER_H_

#include <cstdint>
#include <optional>

#include <vector>

#include "absl/strings/string_view.h"
#include "absl/status/statusor.h"
#include "core/model.h"
#include "core/top_n.h"

namespace easymoney {

// How an answer was made (mirrors the API's Strategy enum).
enum class Strategy {
  // The customer's own SVD factors scored the catalogue.
  kPersonalised,
  // The customer is unknown to the model, or held nothing when it was
  // trained: most popular products not held.
  kPopular,
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
};

struct Recommendation {
  std::vector<ScoredIndex> products;  // Catalogue indices, best first.
  std::optional<int32_t> cluster_id;
  Strategy strategy = Strategy::kPersonalised;
};

inline constexpr int kDefaultNumResults = 5;
// Ids longer than int64's 19 digits cannot be pk_cids; refusing them early
// also keeps hostile inputs out of error messages.
inline constexpr size_t kMaxCustomerIdLength = 19;

// Ranks `model`'s catalogue for one customer. Thread-safe: reads only the
// immutable model.
//
// Errors (INVALID_ARGUMENT, message names the field): customer_id empty, not
// decimal digits or too long; num_results negative or larger than the
// catalogue; a current_holdings product id the catalogue does not know.
absl::StatusOr<Recommendation> Recommend(const Model& model, const RecommendationQuery& query);

}  // namespace easymoney

#endif  // EASYMONEY_CORE_RECOMMENDER_H_
