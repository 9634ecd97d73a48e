#ifndef EASYMONEY_CORE_EASYMONEY_DATASET_H_
#define EASYMONEY_CORE_EASYMONEY_DATASET_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/customer_features.h"

namespace easymoney {

// Counts of dirty values met while reading, and how each was handled.
struct DataQualityReport {
  int64_t product_rows = 0;
  int64_t invalid_entry_dates = 0;    // Unparseable or impossible; imputed.
  int64_t missing_entry_channels = 0;
  int64_t missing_segments = 0;       // Imputed with the modal segment.
  int64_t missing_salaries = 0;       // Imputed with the median, flagged.
  int64_t missing_ages = 0;
  int64_t customers_without_activity = 0;
  int64_t customers_without_sociodemographics = 0;

  // One line per count, for the trainer's log.
  std::string ToString() const;
};

// The latest partition of the three easyMoney tables, one entry per
// customer present in it, ordered by ascending customer id.
struct EasyMoneySnapshot {
  std::string partition;               // "2019-05-28".
  std::vector<int64_t> customer_ids;   // Ascending.
  std::vector<uint16_t> holdings;      // Bit p set: holds kProducts[p].
  std::vector<CustomerProfile> profiles;
  DataQualityReport quality;
};

// Reads customer_products.csv, customer_commercial_activity.csv and
// customer_sociodemographics.csv from `data_dir` and returns the snapshot
// of the newest partition present. Schema violations (wrong header, a
// non-numeric id, a flag other than 0/1, an unknown partition) are
// INVALID_ARGUMENT naming file, line, column and value; dirty but
// recognisable values (missing salary, impossible dates) are imputed and
// counted in the report. Progress goes to stderr.
absl::StatusOr<EasyMoneySnapshot> ReadEasyMoneySnapshot(const std::string& data_dir);

}  // namespace easymoney

#endif  // EASYMONEY_CORE_EASYMONEY_DATASET_H_
