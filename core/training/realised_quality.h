#ifndef EASYMONEY_CORE_TRAINING_REALISED_QUALITY_H_
#define EASYMONEY_CORE_TRAINING_REALISED_QUALITY_H_

#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "core/model/model.h"
#include "core/training/easymoney_dataset.h"
#include "core/training/evaluation.h"

namespace easymoney {

// How model versions rank what customers actually acquired in a month they
// have not seen: the products held at `partition` and not the month before,
// by the customers present in both months (deceased ones left out). Each
// version answers as the server would (core/model/recommender, with the
// customer's holdings of the month before as current holdings, so held
// products are not recommended, and the eligibility rules); beside them the
// popularity baseline ranks by the acquisition rates of the month before.
// All are measured on the same customers. This is the retraining loop's
// concept-drift signal and its gate (docs/training.md).
struct RealisedQuality {
  int partition = -1;                  // Index into kPartitions.
  std::vector<RankingMetrics> models;  // One per model, in the order given.
  RankingMetrics popularity;
};

// Errors: FAILED_PRECONDITION when `partition` is the first month or not in
// the tables; a model whose catalogue is not easyMoney's (INVALID_ARGUMENT).
absl::StatusOr<RealisedQuality> MeasureRealisedQuality(const EasyMoneyTables& tables, int partition,
                                                       std::span<const Model* const> models, int k = 7);

}  // namespace easymoney

#endif  // EASYMONEY_CORE_TRAINING_REALISED_QUALITY_H_
