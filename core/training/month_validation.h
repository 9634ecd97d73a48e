#ifndef EASYMONEY_CORE_TRAINING_MONTH_VALIDATION_H_
#define EASYMONEY_CORE_TRAINING_MONTH_VALIDATION_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/training/easymoney_dataset.h"

namespace easymoney {

// What a new month of the easyMoney tables must satisfy before anything is
// trained on it (the role of TFX's ExampleValidator). Each limit compares
// the new month with the month before it.
struct MonthValidationLimits {
  // |rows(new) / rows(previous) - 1|. easyMoney grows by up to a third in
  // its summer intake months; a month with half the rows missing or twice
  // as many is an export fault.
  double max_row_count_change = 0.5;
  // Share of a column's values missing (or invalid: an impossible entry
  // date) in the new month, and its rise over the previous month's share.
  double max_missing_rate = 0.5;
  double max_missing_rate_rise = 0.05;
  // Share of the new month's product flag fields that are empty.
  double max_empty_product_flags = 0.01;
  // Share of the previous month's customers present in the new one.
  double min_returning_customers = 0.9;
  // Population stability index of each customer feature against the
  // previous month (> 0.2 is conventionally a significant shift); not of
  // entry_date, which every month's newcomers move.
  double max_feature_psi = 0.2;
};

struct ValidationCheck {
  std::string name;    // "row_count_change", "missing_rate:salary", "feature_psi:age", ...
  double value = 0;    // The measured figure.
  double limit = 0;    // The bound it is held to.
  bool upper_bound = true;  // value must be <= limit (else >= limit).
  bool passed = true;
};

// The checks of one new month. Value type.
struct MonthValidation {
  std::string partition;           // The new month.
  std::string previous_partition;  // The month it is compared with.
  std::vector<ValidationCheck> checks;

  bool passed() const;
  // The failed checks, one line each with value and limit ("" when none).
  std::string FailureSummary() const;
  // {"partition":..., "previous_partition":..., "passed":..., "checks":[...]}.
  std::string ToJson() const;
};

// Validates the newest partition of `tables` against the one before it.
// Schema and type errors are the reader's (ReadEasyMoneyTables refuses the
// tables); this measures what a readable month can still get wrong. Errors:
// FAILED_PRECONDITION when the tables hold a single month.
absl::StatusOr<MonthValidation> ValidateNewestMonth(const EasyMoneyTables& tables,
                                                    const MonthValidationLimits& limits);

}  // namespace easymoney

#endif  // EASYMONEY_CORE_TRAINING_MONTH_VALIDATION_H_
