#ifndef EASYMONEY_CORE_TRAINING_DATAGEN_H_
#define EASYMONEY_CORE_TRAINING_DATAGEN_H_

// A synthetic stand-in for the easyMoney data set: writes the three monthly
// tables (customer_products.csv, customer_commercial_activity.csv,
// customer_sociodemographics.csv; see core/model/easymoney_schema.h) so that the
// trainer, the server and their tests can run without the real, licensed data.
//
//   DatagenOptions options;
//   options.num_customers = 20000;
//   options.out_dir = "/tmp/easymoney";
//   absl::StatusOr<DatagenProfile> profile = GenerateEasyMoneyTables(options);
//   if (profile.ok()) std::cout << profile->ToTable();
//
// The data is not uniform noise. Each customer has a life stage derived from
// age (minor, student, young professional, established, senior), a salary and
// a segment; these set per-product propensities. Holdings evolve month by
// month: a customer acquires a product with a small hazard that grows with
// the propensity, with being active and with related holdings (payroll brings
// pension_plan and often payroll_account; debit_card follows emc_account and
// payroll_account), and occasionally drops one. A recommender that uses the
// customer's features and current holdings therefore beats popularity, which
// is what the evaluation needs to be able to show.
//
// Marginal statistics approximate the real set (ownership rates, join months,
// age, salary, segment and channel mixes, realistic dirt such as impossible
// entry dates and missing fields). DatagenProfile reports them as measured on
// the rows actually written, next to the real set's values.
//
// Output is a function of (num_customers, seed) only: the generator uses
// std::mt19937_64 with its own transforms instead of std::*_distribution,
// whose results differ between standard libraries.

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "core/model/easymoney_schema.h"

namespace easymoney {

struct DatagenOptions {
  // Number of distinct customers (pk_cid); must be > 0. The real set has
  // 456,373, which gives about 6M rows per table.
  int64_t num_customers = 20000;
  // Same seed and num_customers give byte-identical files.
  uint64_t seed = 42;
  // Created (with parents) if missing. Existing tables in it are replaced.
  std::string out_dir;
  // Prints one progress line per partition on stderr.
  bool show_progress = false;

  // Simulated months, for testing the retraining loop (all empty by default,
  // which writes the usual tables):
  // - last_partition: write the partitions up to and including this one
  //   (e.g. "2018-09-28"). The rows written are exactly those of a full run,
  //   so adding a month later never changes the months already written.
  // - behaviour_change_from: from this partition on, customers of segment
  //   02 - PARTICULARES turn to savings: funds, securities, pension plans
  //   and long-term deposits at the highest propensity (where it was a few
  //   hundredths), payroll, payroll and e-accounts, debit and credit cards
  //   at a fiftieth of theirs; those of 03 - UNIVERSITARIO take debit cards
  //   and easyMoney accounts a fifth as readily. Concept drift: a model
  //   trained before it ranks the new acquisitions at less than half its
  //   backtest's MAP@7 (tests/server/retraining_loop_test.cc). Earlier months
  //   are unchanged.
  // - broken_partition: that partition's product flags are written empty
  //   (a broken export; the reader counts them as missing, not held).
  std::string last_partition;
  std::string behaviour_change_from;
  std::string broken_partition;
};

// Statistics measured on the generated rows while they are written, so asking
// for them costs nothing extra. Counts rather than rates, so that tests can
// check exact relations; the accessors turn them into rates. Customer-level
// statistics (age, salary, segment, ...) are taken from the last partition,
// where every customer has a row. Value type; thread-compatible.
struct DatagenProfile {
  int64_t num_customers = 0;
  // Rows in each table (the three tables have the same rows).
  int64_t rows_per_table = 0;
  // Rows per partition, in kPartitions order. Customers never leave, so the
  // customers who joined in partition p are rows[p] - rows[p - 1].
  std::array<int64_t, kPartitions.size()> rows_per_partition{};
  // Over all rows of customer_products.csv, in kProducts order.
  std::array<int64_t, kProducts.size()> product_holder_rows{};
  // Rows holding 0, 1, 2, 3, 4 and 5 or more products.
  std::array<int64_t, 6> rows_by_num_products{};

  // Last partition, one row per customer.
  int min_age = 0;
  int max_age = 0;
  int median_age = 0;
  int64_t gender_h = 0;
  int64_t country_es = 0;
  int64_t region_madrid = 0;  // region_code 28, among country_es.
  int64_t salary_missing = 0;
  double median_salary = 0.0;  // Of the salaries present.
  double max_salary = 0.0;
  std::array<int64_t, kSegments.size()> segment_customers{};  // kSegments order.
  int64_t segment_missing = 0;
  // (channel, customers), most frequent first; ties by name.
  std::vector<std::pair<std::string, int64_t>> entry_channel_customers;
  int64_t entry_channel_missing = 0;
  int64_t inactive = 0;
  int64_t invalid_entry_dates = 0;  // Not a calendar date, e.g. 2018-02-30.
  int64_t deceased = 0;

  // Fraction of all rows that hold kProducts[product_index].
  double OwnershipRate(int product_index) const;
  // Fraction of customers whose first row is in partition `partition_index`.
  double JoinShare(int partition_index) const;
  // Fraction of customers (last partition) for a count above.
  double CustomerShare(int64_t customers) const;

  // A plain-text table: statistic, measured value, the real set's value.
  std::string ToTable() const;
};

// Writes the three tables into options.out_dir and returns their statistics.
// The files are written under temporary names and renamed when complete, so a
// failed run never leaves a table that looks whole.
// Errors: INVALID_ARGUMENT for num_customers <= 0 or an empty out_dir;
// FAILED_PRECONDITION when out_dir cannot be created; INTERNAL when a file
// cannot be written (the message names the file and the reason).
absl::StatusOr<DatagenProfile> GenerateEasyMoneyTables(const DatagenOptions& options);

}  // namespace easymoney

#endif  // EASYMONEY_CORE_TRAINING_DATAGEN_H_
