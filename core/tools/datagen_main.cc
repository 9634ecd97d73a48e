// recommender-datagen: writes a synthetic easyMoney data set (three CSV
// tables) for training and testing the recommender without the real data.

#include <cstdint>
#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/training/datagen.h"
#include "core/util/tool_flags.h"

ABSL_FLAG(int64_t, customers, 20000,
          "Number of distinct customers. The real set has 456373 (about 6M rows per table).");
ABSL_FLAG(std::string, out, "", "Directory for the three tables; created if missing. Required.");
ABSL_FLAG(uint64_t, seed, 42, "Random seed; the same seed and --customers give identical files.");
ABSL_FLAG(std::string, last_partition, "",
          "Write the partitions up to and including this one (e.g. 2018-09-28), to simulate the months "
          "arriving one by one; the rows are those of a full run. Empty: all 17.");
ABSL_FLAG(std::string, behaviour_change_from, "",
          "From this partition on, segment 02 - PARTICULARES turns to savings (funds, securities, pension plans "
          "and long-term deposits at the highest propensity; payroll, payroll and e-accounts, debit and credit "
          "cards at 1/50 of theirs) and 03 - UNIVERSITARIO takes debit cards and easyMoney accounts 1/5 as "
          "readily (concept drift for testing retraining). Empty: no change.");
ABSL_FLAG(std::string, broken_partition, "",
          "Write this partition's product flags empty (a broken export, for testing data validation). "
          "Empty: none.");
ABSL_FLAG(bool, profile, false,
          "After writing the tables, print to stdout each realism statistic measured on the "
          "written rows beside the real easyMoney value. The statistics are gathered while "
          "writing, so this costs no extra time; the tables are written either way.");

namespace easymoney {
namespace {

absl::Status RunDatagen() {
  DatagenOptions options;
  options.num_customers = absl::GetFlag(FLAGS_customers);
  options.seed = absl::GetFlag(FLAGS_seed);
  options.out_dir = absl::GetFlag(FLAGS_out);
  options.show_progress = true;
  options.last_partition = absl::GetFlag(FLAGS_last_partition);
  options.behaviour_change_from = absl::GetFlag(FLAGS_behaviour_change_from);
  options.broken_partition = absl::GetFlag(FLAGS_broken_partition);
  if (options.out_dir.empty()) return absl::InvalidArgumentError("--out is required");

  absl::StatusOr<DatagenProfile> profile = GenerateEasyMoneyTables(options);
  if (!profile.ok()) return profile.status();
  std::fprintf(stderr, "wrote %lld rows per table for %lld customers into %s\n",
               static_cast<long long>(profile->rows_per_table),
               static_cast<long long>(profile->num_customers), options.out_dir.c_str());
  if (absl::GetFlag(FLAGS_profile)) std::fputs(profile->ToTable().c_str(), stdout);
  return absl::OkStatus();
}

}  // namespace
}  // namespace easymoney

int main(int argc, char** argv) {
  easymoney::ParseToolFlags(
      argc, argv,
      "Writes a synthetic easyMoney data set: customer_products.csv,\n"
      "customer_commercial_activity.csv and customer_sociodemographics.csv, one row per\n"
      "customer per monthly partition (2018-01-28..2019-05-28) from the month the customer\n"
      "joins. Customer features and month-to-month product acquisitions are correlated, so\n"
      "personalised models beat popularity.\n\n"
      "  recommender-datagen --customers 456373 --out data/easymoney --seed 42 --profile\n");
  if (absl::Status status = easymoney::RunDatagen(); !status.ok()) {
    std::fprintf(stderr, "recommender-datagen: %s\n", status.ToString().c_str());
    return 1;
  }
  return 0;
}
