#ifndef EASYMONEY_CORE_TRAINING_EASYMONEY_DATASET_H_
#define EASYMONEY_CORE_TRAINING_EASYMONEY_DATASET_H_

#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/model/customer_features.h"
#include "core/model/easymoney_schema.h"

namespace easymoney {

// Counts of dirty values met while reading all rows, and how each is
// handled downstream.
struct DataQualityReport {
  int64_t product_rows = 0;
  int64_t activity_rows = 0;
  int64_t sociodemographic_rows = 0;
  int64_t invalid_entry_dates = 0;    // Unparseable or impossible (2018-02-30).
  int64_t missing_entry_channels = 0;
  int64_t missing_segments = 0;
  int64_t missing_salaries = 0;
  int64_t missing_ages = 0;
  int64_t missing_genders = 0;
  int64_t missing_product_flags = 0;  // Empty flag fields, read as "not held".
  std::array<int64_t, kPartitions.size()> missing_product_flags_by_partition{};
  int64_t salary_outliers = 0;        // Above 10x the median salary.
  // Products nobody holds in any partition (em_account_pp on easyMoney):
  // kept in the catalogue so callers may send them, never recommended.
  std::vector<std::string> zero_variance_products;

  // One line per finding with how it is handled, for the log and report.
  std::vector<std::string> Lines() const;
};

// One customer in one monthly partition, compactly (the full easyMoney set
// has about 6M of these). Missing values are -1 / NaN.
struct CustomerMonth {
  static constexpr int32_t kNoDate = std::numeric_limits<int32_t>::min();

  uint16_t holdings = 0;  // Bit p set: holds kProducts[p].
  bool present = false;   // Has a row in customer_products.csv.
  bool deceased = false;
  bool foreign = false;   // country_id other than ES.
  int8_t segment = -1;    // Index into kSegments.
  int8_t gender = -1;     // 0 = H, 1 = V.
  int8_t active = -1;     // 0 or 1.
  int16_t channel = -1;   // Index into EasyMoneyTables::channels.
  int16_t region = -1;    // region_code.
  int16_t age = -1;
  int32_t entry_day = kNoDate;  // Days since 1970-01-01.
  float salary = std::numeric_limits<float>::quiet_NaN();
};

// All 17 partitions of the three easyMoney tables, joined by customer.
// Read once; snapshots for any month are cut from it. Thread-compatible.
struct EasyMoneyTables {
  std::vector<int64_t> customer_ids;  // Every customer seen, ascending.
  std::vector<std::string> channels;  // Entry channel codes seen.
  int newest_partition = -1;          // Index into kPartitions.
  // Partition-major: months[p * customer_ids.size() + row].
  std::vector<CustomerMonth> months;
  DataQualityReport quality;

  size_t num_customers() const { return customer_ids.size(); }
  const CustomerMonth& at(int partition, size_t row) const {
    return months[static_cast<size_t>(partition) * customer_ids.size() + row];
  }
};

// Everything known about the customers present at one partition, ordered by
// ascending customer id: the trainer's and the evaluation's input.
struct EasyMoneySnapshot {
  int partition = -1;                  // Index into kPartitions.
  std::vector<int64_t> customer_ids;   // Ascending.
  std::vector<size_t> table_rows;      // Row of each customer in EasyMoneyTables.
  std::vector<uint16_t> holdings;      // At `partition`.
  std::vector<CustomerProfile> profiles;
};

// Reads customer_products.csv, customer_commercial_activity.csv and
// customer_sociodemographics.csv from `data_dir`. Schema violations (wrong
// header, a non-numeric id, a flag other than 0/1, an unknown partition or
// segment, an impossible age) are INVALID_ARGUMENT naming file, line,
// column and value; dirty but recognisable values (missing salary,
// impossible dates) are kept as missing and counted in the report. Progress
// goes to stderr.
absl::StatusOr<EasyMoneyTables> ReadEasyMoneyTables(const std::string& data_dir);

// The customers present at `partition`, with their holdings and profiles as
// of that month (recent acquisitions against the month before).
EasyMoneySnapshot SnapshotAt(const EasyMoneyTables& tables, int partition);

}  // namespace easymoney

#endif  // EASYMONEY_CORE_TRAINING_EASYMONEY_DATASET_H_
