#include "core/training/datagen.h"

#include <unistd.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "core/model/easymoney_schema.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace easymoney {
namespace {

constexpr int64_t kNumCustomers = 20000;
constexpr uint64_t kSeed = 7;

std::filesystem::path UniqueTempDir(absl::string_view name) {
  static int counter = 0;
  return std::filesystem::path(testing::TempDir()) /
         absl::StrCat("datagen_test_", name, "_", ::getpid(), "_", counter++);
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

// A table read back from disk: the header and the data rows split on commas.
struct Table {
  std::string text;  // Owns the bytes the fields point into.
  std::vector<std::string> header;
  std::vector<std::vector<absl::string_view>> rows;
};

Table ReadTable(const std::filesystem::path& path) {
  Table table;
  table.text = ReadFile(path);
  std::vector<absl::string_view> lines = absl::StrSplit(table.text, '\n', absl::SkipEmpty());
  if (lines.empty()) return table;
  for (absl::string_view column : absl::StrSplit(lines[0], ',')) {
    table.header.emplace_back(column);
  }
  table.rows.reserve(lines.size() - 1);
  for (size_t i = 1; i < lines.size(); ++i) {
    table.rows.push_back(absl::StrSplit(lines[i], ','));
  }
  return table;
}

int ProductColumn(absl::string_view id) {
  for (size_t i = 0; i < kProducts.size(); ++i) {
    if (kProducts[i].id == id) return static_cast<int>(2 + i);
  }
  ADD_FAILURE() << "unknown product " << id;
  return -1;
}

int PartitionIndex(absl::string_view partition) {
  for (size_t i = 0; i < kPartitions.size(); ++i) {
    if (kPartitions[i] == partition) return static_cast<int>(i);
  }
  return -1;
}

// One generated data set shared by the tests that only read it, so the suite
// stays fast.
class DatagenTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    out_dir_ = new std::filesystem::path(UniqueTempDir("shared"));
    DatagenOptions options;
    options.num_customers = kNumCustomers;
    options.seed = kSeed;
    options.out_dir = out_dir_->string();
    absl::StatusOr<DatagenProfile> profile = GenerateEasyMoneyTables(options);
    ASSERT_TRUE(profile.ok()) << profile.status();
    profile_ = new DatagenProfile(*profile);
    products_ = new Table(ReadTable(*out_dir_ / std::string(kProductsFile)));
    activity_ = new Table(ReadTable(*out_dir_ / std::string(kActivityFile)));
    sociodemographics_ = new Table(ReadTable(*out_dir_ / std::string(kSociodemographicsFile)));
  }

  static void TearDownTestSuite() {
    delete products_;
    delete activity_;
    delete sociodemographics_;
    delete profile_;
    std::filesystem::remove_all(*out_dir_);
    delete out_dir_;
  }

  static std::filesystem::path* out_dir_;
  static DatagenProfile* profile_;
  static Table* products_;
  static Table* activity_;
  static Table* sociodemographics_;
};

std::filesystem::path* DatagenTest::out_dir_ = nullptr;
DatagenProfile* DatagenTest::profile_ = nullptr;
Table* DatagenTest::products_ = nullptr;
Table* DatagenTest::activity_ = nullptr;
Table* DatagenTest::sociodemographics_ = nullptr;

TEST_F(DatagenTest, WritesHeadersExactlyAsTheSchema) {
  std::vector<std::string> expected_products = {"pk_cid", "pk_partition"};
  for (const ProductInfo& product : kProducts) expected_products.emplace_back(product.id);
  EXPECT_EQ(products_->header, expected_products);
  EXPECT_EQ(activity_->header,
            std::vector<std::string>(kActivityColumns.begin(), kActivityColumns.end()));
  EXPECT_EQ(sociodemographics_->header, std::vector<std::string>(kSociodemographicsColumns.begin(),
                                                                 kSociodemographicsColumns.end()));
}

TEST_F(DatagenTest, EveryRowHasOneFieldPerColumn) {
  for (const Table* table : {products_, activity_, sociodemographics_}) {
    for (const auto& row : table->rows) ASSERT_EQ(row.size(), table->header.size());
  }
}

TEST_F(DatagenTest, WritesOneRowPerCustomerPerPartitionFromTheJoinMonthOn) {
  std::map<int64_t, std::vector<int>> partitions_by_customer;
  std::set<int> partitions_seen;
  std::pair<int, int64_t> previous_key = {-1, 0};
  for (const auto& row : products_->rows) {
    int64_t cid = 0;
    ASSERT_TRUE(absl::SimpleAtoi(row[0], &cid)) << row[0];
    ASSERT_GT(cid, 0);
    const int partition = PartitionIndex(row[1]);
    ASSERT_GE(partition, 0) << row[1];
    const std::pair<int, int64_t> key = {partition, cid};
    ASSERT_LT(previous_key, key) << "rows must be ordered by partition, then pk_cid";
    previous_key = key;
    partitions_by_customer[cid].push_back(partition);
    partitions_seen.insert(partition);
  }
  EXPECT_EQ(partitions_seen.size(), kPartitions.size());
  EXPECT_EQ(std::ssize(partitions_by_customer), kNumCustomers);
  for (const auto& [cid, partitions] : partitions_by_customer) {
    // Customers never leave: from the join partition to the last, no gaps.
    ASSERT_EQ(partitions.back(), std::ssize(kPartitions) - 1) << cid;
    ASSERT_EQ(partitions.back() - partitions.front() + 1, std::ssize(partitions)) << cid;
  }
}

TEST_F(DatagenTest, TheThreeTablesHaveTheSameKeysInTheSameOrder) {
  ASSERT_EQ(products_->rows.size(), activity_->rows.size());
  ASSERT_EQ(products_->rows.size(), sociodemographics_->rows.size());
  for (size_t i = 0; i < products_->rows.size(); ++i) {
    ASSERT_EQ(products_->rows[i][0], activity_->rows[i][0]);
    ASSERT_EQ(products_->rows[i][1], activity_->rows[i][1]);
    ASSERT_EQ(products_->rows[i][0], sociodemographics_->rows[i][0]);
    ASSERT_EQ(products_->rows[i][1], sociodemographics_->rows[i][1]);
  }
}

TEST_F(DatagenTest, WritesFieldsInTheDocumentedFormats) {
  const std::set<absl::string_view> segments(kSegments.begin(), kSegments.end());
  for (const auto& row : products_->rows) {
    for (size_t column = 2; column < row.size(); ++column) {
      ASSERT_TRUE(row[column] == "0" || row[column] == "1") << row[column];
    }
  }
  for (const auto& row : activity_->rows) {
    ASSERT_EQ(row[2].size(), 10u) << "entry_date " << row[2];
    ASSERT_TRUE(row[4] == "0" || row[4] == "1") << "active_customer " << row[4];
    ASSERT_TRUE(row[5].empty() || segments.contains(row[5])) << "segment " << row[5];
  }
  for (const auto& row : sociodemographics_->rows) {
    ASSERT_EQ(row[2].size(), 2u) << "country_id " << row[2];
    int region = 0;
    if (row[2] == "ES") {
      ASSERT_TRUE(absl::SimpleAtoi(row[3], &region)) << "region_code " << row[3];
      ASSERT_GE(region, 1);
      ASSERT_LE(region, 52);
    } else {
      ASSERT_TRUE(row[3].empty()) << "region_code outside Spain " << row[3];
    }
    ASSERT_TRUE(row[4] == "H" || row[4] == "V") << "gender " << row[4];
    int age = 0;
    ASSERT_TRUE(absl::SimpleAtoi(row[5], &age)) << "age " << row[5];
    ASSERT_GE(age, 2);
    ASSERT_LE(age, 105);
    ASSERT_TRUE(row[6] == "N" || row[6] == "S") << "deceased " << row[6];
    if (!row[7].empty()) {
      ASSERT_GE(row[7].size(), 4u);
      ASSERT_EQ(row[7][row[7].size() - 3], '.') << "salary with two decimals " << row[7];
    }
  }
}

TEST_F(DatagenTest, ProfileCountsWhatWasWritten) {
  EXPECT_EQ(profile_->num_customers, kNumCustomers);
  EXPECT_EQ(profile_->rows_per_table, std::ssize(products_->rows));
  std::array<int64_t, kProducts.size()> holders{};
  for (const auto& row : products_->rows) {
    for (size_t product = 0; product < kProducts.size(); ++product) {
      if (row[2 + product] == "1") ++holders[product];
    }
  }
  EXPECT_EQ(profile_->product_holder_rows, holders);
  EXPECT_NE(profile_->ToTable().find("em_acount"), std::string::npos);
}

TEST_F(DatagenTest, NeverWritesEmAccountPP) {
  const int column = ProductColumn("em_account_pp");
  for (const auto& row : products_->rows) ASSERT_EQ(row[column], "0");
}

TEST_F(DatagenTest, OwnershipRatesAreNearTheRealSet) {
  const int em_acount = ProductColumn("em_acount");
  const int debit_card = ProductColumn("debit_card");
  int64_t em_acount_rows = 0, debit_card_rows = 0;
  for (const auto& row : products_->rows) {
    em_acount_rows += row[em_acount] == "1";
    debit_card_rows += row[debit_card] == "1";
  }
  const double rows = static_cast<double>(products_->rows.size());
  EXPECT_NEAR(em_acount_rows / rows, 0.735, 0.06);
  EXPECT_NEAR(debit_card_rows / rows, 0.094, 0.025);
}

TEST_F(DatagenTest, PayrollHoldersMostlyHoldPensionPlan) {
  const int payroll = ProductColumn("payroll");
  const int pension_plan = ProductColumn("pension_plan");
  int64_t payroll_rows = 0, payroll_with_pension_rows = 0;
  for (const auto& row : products_->rows) {
    if (row[payroll] != "1") continue;
    ++payroll_rows;
    payroll_with_pension_rows += row[pension_plan] == "1";
  }
  ASSERT_GT(payroll_rows, 1000);
  EXPECT_GT(static_cast<double>(payroll_with_pension_rows) / static_cast<double>(payroll_rows),
            0.9);
}

TEST_F(DatagenTest, TopSegmentHoldsSavingsAndInvestmentsFarMoreThanUniversitario) {
  const int long_term_deposit = ProductColumn("long_term_deposit");
  const int funds = ProductColumn("funds");
  std::map<absl::string_view, std::pair<int64_t, int64_t>> holders_and_rows_by_segment;
  for (size_t i = 0; i < products_->rows.size(); ++i) {
    const auto& row = products_->rows[i];
    auto& [holders, rows] = holders_and_rows_by_segment[activity_->rows[i][5]];
    holders += row[long_term_deposit] == "1" || row[funds] == "1";
    ++rows;
  }
  auto rate = [&](absl::string_view segment) {
    const auto [holders, rows] = holders_and_rows_by_segment[segment];
    return rows == 0 ? 0.0 : static_cast<double>(holders) / static_cast<double>(rows);
  };
  EXPECT_GT(rate(kSegments[0]), 5.0 * rate(kSegments[2]))
      << kSegments[0] << " " << rate(kSegments[0]) << " vs " << kSegments[2] << " "
      << rate(kSegments[2]);
}

// What the evaluation measures: a product first held this month. It must
// follow from current holdings, not be uniform noise.
TEST_F(DatagenTest, DebitCardAcquisitionFollowsCurrentAccounts) {
  const int debit_card = ProductColumn("debit_card");
  const int emc_account = ProductColumn("emc_account");
  const int payroll_account = ProductColumn("payroll_account");
  // Last month's row per customer; rows are ordered by partition.
  std::map<absl::string_view, const std::vector<absl::string_view>*> previous_row;
  int64_t acquisitions[2] = {0, 0};
  int64_t opportunities[2] = {0, 0};
  for (const auto& row : products_->rows) {
    auto it = previous_row.find(row[0]);
    if (it != previous_row.end() && (*it->second)[debit_card] == "0") {
      const auto& previous = *it->second;
      const int has_account = previous[emc_account] == "1" || previous[payroll_account] == "1";
      ++opportunities[has_account];
      acquisitions[has_account] += row[debit_card] == "1";
    }
    previous_row[row[0]] = &row;
  }
  ASSERT_GT(opportunities[1], 1000);
  const double rate_with_account =
      static_cast<double>(acquisitions[1]) / static_cast<double>(opportunities[1]);
  const double rate_without_account =
      static_cast<double>(acquisitions[0]) / static_cast<double>(opportunities[0]);
  EXPECT_GT(rate_with_account, 2.0 * rate_without_account);
}

TEST_F(DatagenTest, PayrollArrivesWithPensionPlanInTheSameMonth) {
  const int payroll = ProductColumn("payroll");
  const int pension_plan = ProductColumn("pension_plan");
  std::map<absl::string_view, const std::vector<absl::string_view>*> previous_row;
  int64_t payroll_acquisitions = 0, with_pension = 0;
  for (const auto& row : products_->rows) {
    auto it = previous_row.find(row[0]);
    if (it != previous_row.end() && (*it->second)[payroll] == "0" && row[payroll] == "1") {
      ++payroll_acquisitions;
      with_pension += row[pension_plan] == "1";
    }
    previous_row[row[0]] = &row;
  }
  ASSERT_GT(payroll_acquisitions, 100);
  EXPECT_GT(static_cast<double>(with_pension) / static_cast<double>(payroll_acquisitions), 0.85);
}

class DatagenRunTest : public testing::Test {
 protected:
  void TearDown() override {
    for (const auto& dir : dirs_) std::filesystem::remove_all(dir);
  }

  std::filesystem::path Generate(uint64_t seed, absl::string_view name) {
    dirs_.push_back(UniqueTempDir(name));
    DatagenOptions options;
    options.num_customers = 2000;
    options.seed = seed;
    options.out_dir = dirs_.back().string();
    const absl::StatusOr<DatagenProfile> profile = GenerateEasyMoneyTables(options);
    EXPECT_TRUE(profile.ok()) << profile.status();
    return dirs_.back();
  }

  std::vector<std::filesystem::path> dirs_;
};

TEST_F(DatagenRunTest, SameSeedGivesIdenticalFiles) {
  const std::filesystem::path first = Generate(11, "first");
  const std::filesystem::path second = Generate(11, "second");
  for (absl::string_view file : {kProductsFile, kActivityFile, kSociodemographicsFile}) {
    const std::string first_bytes = ReadFile(first / std::string(file));
    EXPECT_FALSE(first_bytes.empty()) << file;
    EXPECT_EQ(first_bytes, ReadFile(second / std::string(file))) << file;
  }
}

TEST_F(DatagenRunTest, DifferentSeedGivesDifferentFiles) {
  const std::filesystem::path first = Generate(11, "first");
  const std::filesystem::path second = Generate(12, "second");
  for (absl::string_view file : {kProductsFile, kActivityFile, kSociodemographicsFile}) {
    EXPECT_NE(ReadFile(first / std::string(file)), ReadFile(second / std::string(file))) << file;
  }
}

TEST_F(DatagenRunTest, LeavesNoPartialFilesBehind) {
  const std::filesystem::path dir = Generate(11, "partial");
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    EXPECT_NE(entry.path().extension(), ".partial") << entry.path();
    ++files;
  }
  EXPECT_EQ(files, 3);
}

TEST(DatagenErrorTest, FailsWhenOutDirCannotBeCreated) {
  const std::filesystem::path file = UniqueTempDir("not_a_dir");
  std::ofstream(file) << "a file, not a directory";
  DatagenOptions options;
  options.num_customers = 10;
  options.out_dir = (file / "tables").string();
  const absl::StatusOr<DatagenProfile> profile = GenerateEasyMoneyTables(options);
  std::filesystem::remove(file);
  ASSERT_FALSE(profile.ok());
  EXPECT_EQ(profile.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(profile.status().message().find("tables"), absl::string_view::npos)
      << profile.status();
}

TEST(DatagenErrorTest, RejectsANonPositiveCustomerCount) {
  DatagenOptions options;
  options.num_customers = 0;
  options.out_dir = UniqueTempDir("zero").string();
  const absl::StatusOr<DatagenProfile> profile = GenerateEasyMoneyTables(options);
  ASSERT_FALSE(profile.ok());
  EXPECT_EQ(profile.status().code(), absl::StatusCode::kInvalidArgument);
}

// The simulated months of the retraining loop's tests.

// Where partition `partition`'s rows start in `text` (rows are written
// partition by partition), or text.size().
size_t StartOfPartition(const std::string& text, absl::string_view partition) {
  const size_t at = text.find(absl::StrCat(",", partition, ","));
  if (at == std::string::npos) return text.size();
  return text.rfind('\n', at) + 1;
}

DatagenOptions SimulatedOptions(absl::string_view name) {
  DatagenOptions options;
  options.num_customers = kNumCustomers;
  options.seed = kSeed;
  options.out_dir = UniqueTempDir(name).string();
  return options;
}

TEST_F(DatagenTest, AShorterRunWritesTheFirstMonthsOfAFullOne) {
  DatagenOptions options = SimulatedOptions("short");
  options.last_partition = "2018-06-28";
  ASSERT_TRUE(GenerateEasyMoneyTables(options).ok());
  for (absl::string_view file : {kProductsFile, kActivityFile, kSociodemographicsFile}) {
    const std::string full = ReadFile(*out_dir_ / std::string(file));
    const std::string shorter = ReadFile(std::filesystem::path(options.out_dir) / std::string(file));
    EXPECT_EQ(shorter, full.substr(0, StartOfPartition(full, "2018-07-28"))) << file;
  }
  std::filesystem::remove_all(options.out_dir);
}

TEST_F(DatagenTest, ABehaviourChangeMovesTheChangedSegmentsAcquisitionsFromItsMonthOn) {
  DatagenOptions options = SimulatedOptions("drift");
  options.behaviour_change_from = "2018-10-28";
  options.last_partition = "2019-01-28";
  ASSERT_TRUE(GenerateEasyMoneyTables(options).ok());
  const Table changed = ReadTable(std::filesystem::path(options.out_dir) / std::string(kProductsFile));
  const Table changed_activity = ReadTable(std::filesystem::path(options.out_dir) / std::string(kActivityFile));
  // Months before the change are those of the run without it.
  const std::string full_text = ReadFile(*out_dir_ / std::string(kProductsFile));
  EXPECT_EQ(changed.text.substr(0, StartOfPartition(changed.text, "2018-10-28")),
            full_text.substr(0, StartOfPartition(full_text, "2018-10-28")));
  // In the last month written: holders of funds among PARTICULARES rise,
  // holders of a debit card among UNIVERSITARIO fall.
  const int funds = ProductColumn("funds");
  const int debit_card = ProductColumn("debit_card");
  auto rate = [](const Table& products, const Table& activity, int column, absl::string_view segment) {
    int64_t holders = 0, rows = 0;
    for (size_t i = 0; i < products.rows.size(); ++i) {
      if (products.rows[i][1] != "2019-01-28" || activity.rows[i][5] != segment) continue;
      holders += products.rows[i][column] == "1";
      ++rows;
    }
    return rows == 0 ? 0.0 : static_cast<double>(holders) / static_cast<double>(rows);
  };
  const double funds_before = rate(*products_, *activity_, funds, kSegments[1]);
  const double funds_after = rate(changed, changed_activity, funds, kSegments[1]);
  EXPECT_GT(funds_after, 2.0 * funds_before) << funds_before << " -> " << funds_after;
  const double debit_before = rate(*products_, *activity_, debit_card, kSegments[2]);
  const double debit_after = rate(changed, changed_activity, debit_card, kSegments[2]);
  EXPECT_LT(debit_after, debit_before) << debit_before << " -> " << debit_after;
  std::filesystem::remove_all(options.out_dir);
}

TEST_F(DatagenTest, ABrokenPartitionHasOnlyEmptyProductFlags) {
  DatagenOptions options = SimulatedOptions("broken");
  options.broken_partition = "2018-03-28";
  options.last_partition = "2018-04-28";
  ASSERT_TRUE(GenerateEasyMoneyTables(options).ok());
  const Table products = ReadTable(std::filesystem::path(options.out_dir) / std::string(kProductsFile));
  int64_t broken_rows = 0;
  for (size_t i = 0; i < products.rows.size(); ++i) {
    const auto& row = products.rows[i];
    ASSERT_EQ(row.size(), 2 + kProducts.size());
    const bool broken = row[1] == "2018-03-28";
    broken_rows += broken;
    for (size_t p = 0; p < kProducts.size(); ++p) {
      if (broken) {
        EXPECT_EQ(row[2 + p], "");
      } else {
        EXPECT_EQ(row[2 + p], products_->rows[i][2 + p]) << "row " << i;
      }
    }
  }
  EXPECT_GT(broken_rows, 0);
  std::filesystem::remove_all(options.out_dir);
}

TEST(DatagenOptionsTest, AMonthThatIsNotAPartitionIsRefused) {
  DatagenOptions options;
  options.out_dir = UniqueTempDir("bad_month").string();
  options.last_partition = "2018-02-30";
  auto profile = GenerateEasyMoneyTables(options);
  EXPECT_EQ(profile.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(profile.status().message()), ::testing::HasSubstr("last_partition \"2018-02-30\""));
  EXPECT_FALSE(std::filesystem::exists(options.out_dir));
}

}  // namespace
}  // namespace easymoney
