#ifndef EASYMONEY_CORE_TRAINING_BATCH_RECOMMENDATIONS_H_
#define EASYMONEY_CORE_TRAINING_BATCH_RECOMMENDATIONS_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "core/model/model.h"

namespace easymoney {

// Writes the top `num_results` products for every customer of `model` to a
// CSV file `customer_id,rank,product_id,score,strategy` (rank 1 = best),
// ranked exactly as the server would answer RecommendProducts with default
// options (held and never-recommended products excluded, product rules
// applied; fewer than num_results rows when fewer products qualify). For
// marketing campaigns. Progress on stderr. Returns the rows written.
absl::StatusOr<int64_t> WriteBatchRecommendations(const Model& model, int num_results,
                                                  const std::string& path);

}  // namespace easymoney

#endif  // EASYMONEY_CORE_TRAINING_BATCH_RECOMMENDATIONS_H_
