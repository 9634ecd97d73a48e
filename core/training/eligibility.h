#ifndef EASYMONEY_CORE_TRAINING_ELIGIBILITY_H_
#define EASYMONEY_CORE_TRAINING_ELIGIBILITY_H_

#include <array>
#include <cstddef>
#include <cstdint>

#include "core/model/easymoney_schema.h"
#include "core/training/easymoney_dataset.h"

namespace easymoney {

// easyMoney's eligibility rules, written into every version's manifest and
// applied by the server after scoring: these products only from this age,
// nothing for deceased customers. The backtest and the retraining gate apply
// them too, so they measure what customers would actually be shown.
inline constexpr std::array<const char*, 4> kAdultOnlyProducts = {"loans", "mortgage", "credit_card",
                                                                   "pension_plan"};
inline constexpr int kAdultAge = 18;
inline constexpr int kNumProducts = static_cast<int>(kProducts.size());

// Bit p set: kProducts[p] is adult-only.
uint16_t AdultOnlyMask();
// Bit p set: nobody holds kProducts[p] in any month (never recommended).
uint16_t NeverRecommendMask(const DataQualityReport& quality);
// Products a customer holds at `partition` but did not hold the month
// before (everything held, for a customer new that month).
uint16_t Acquired(const EasyMoneyTables& tables, int partition, size_t row);

}  // namespace easymoney

#endif  // EASYMONEY_CORE_TRAINING_ELIGIBILITY_H_
