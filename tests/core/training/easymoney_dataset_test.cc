#include "core/training/easymoney_dataset.h"

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "core/model/easymoney_schema.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/test_model.h"

namespace easymoney {
namespace {

using ::testing::ElementsAre;
using ::testing::FloatEq;
using ::testing::HasSubstr;
using ::testing::Optional;

// Partition indices of the two months the hand-made tables use.
constexpr int kJanuary = 0;   // 2018-01-28
constexpr int kFebruary = 1;  // 2018-02-28

int ProductIndex(absl::string_view id) {
  for (size_t p = 0; p < kProducts.size(); ++p) {
    if (kProducts[p].id == id) return static_cast<int>(p);
  }
  ADD_FAILURE() << "unknown product " << id;
  return 0;
}

uint16_t Mask(std::initializer_list<absl::string_view> ids) {
  uint16_t mask = 0;
  for (absl::string_view id : ids) mask = static_cast<uint16_t>(mask | (1u << ProductIndex(id)));
  return mask;
}

std::string ProductRow(absl::string_view cid, absl::string_view partition,
                       std::initializer_list<absl::string_view> held) {
  const uint16_t mask = Mask(held);
  std::vector<std::string> fields = {std::string(cid), std::string(partition)};
  for (size_t p = 0; p < kProducts.size(); ++p) fields.push_back(((mask >> p) & 1u) ? "1" : "0");
  return absl::StrJoin(fields, ",");
}

// The three tables as lines, header first. Tests edit a line, then write.
//   customer 100: January and February; holds em_acount, adds debit_card in
//     February; entered 2017-02-28 by KHE; H; age 34 then 35; Madrid.
//   customer 200: February only (new); holds payroll and pension_plan;
//     entered 2018-02-10 by KFC; V; age 22; Barcelona.
// Rows are written newest partition first, so "newest" cannot mean "last".
struct Tables {
  std::vector<std::string> products = {
      "pk_cid,pk_partition," + [] {
        std::vector<absl::string_view> ids;
        for (const ProductInfo& p : kProducts) ids.push_back(p.id);
        return absl::StrJoin(ids, ",");
      }(),
      ProductRow("100", "2018-02-28", {"em_acount", "debit_card"}),
      ProductRow("200", "2018-02-28", {"payroll", "pension_plan"}),
      ProductRow("100", "2018-01-28", {"em_acount"}),
  };
  std::vector<std::string> activity = {
      "pk_cid,pk_partition,entry_date,entry_channel,active_customer,segment",
      "100,2018-02-28,2017-02-28,KHE,1,02 - PARTICULARES",
      "200,2018-02-28,2018-02-10,KFC,0,03 - UNIVERSITARIO",
      "100,2018-01-28,2017-02-28,KHE,1,03 - UNIVERSITARIO",
  };
  std::vector<std::string> sociodemographics = {
      "pk_cid,pk_partition,country_id,region_code,gender,age,deceased,salary",
      "100,2018-02-28,ES,28,H,35,N,50000.5",
      "200,2018-02-28,ES,8,V,22,N,21000",
      "100,2018-01-28,ES,28,H,34,N,50000.5",
  };

  std::string Write() const {
    const std::string dir = testing::MakeTempDir("tables");
    WriteLines(dir, kProductsFile, products);
    WriteLines(dir, kActivityFile, activity);
    WriteLines(dir, kSociodemographicsFile, sociodemographics);
    return dir;
  }

  static void WriteLines(const std::string& dir, absl::string_view file, const std::vector<std::string>& lines) {
    std::ofstream out(std::filesystem::path(dir) / std::string(file), std::ios::binary);
    for (const std::string& line : lines) out << line << "\n";
    ASSERT_TRUE(out.good()) << "cannot write " << file;
  }
};

EasyMoneyTables ReadOk(const Tables& tables) {
  absl::StatusOr<EasyMoneyTables> read = ReadEasyMoneyTables(tables.Write());
  EXPECT_TRUE(read.ok()) << read.status();
  return read.ok() ? *std::move(read) : EasyMoneyTables{};
}

absl::Status ReadError(const Tables& tables) {
  absl::StatusOr<EasyMoneyTables> read = ReadEasyMoneyTables(tables.Write());
  EXPECT_FALSE(read.ok()) << "the tables were accepted";
  return read.status();
}

// Row of a customer in EasyMoneyTables.
size_t RowOf(const EasyMoneyTables& tables, int64_t customer_id) {
  for (size_t row = 0; row < tables.customer_ids.size(); ++row) {
    if (tables.customer_ids[row] == customer_id) return row;
  }
  ADD_FAILURE() << "customer " << customer_id << " not read";
  return 0;
}

// Index of a customer in a snapshot.
size_t IndexOf(const EasyMoneySnapshot& snapshot, int64_t customer_id) {
  for (size_t i = 0; i < snapshot.customer_ids.size(); ++i) {
    if (snapshot.customer_ids[i] == customer_id) return i;
  }
  ADD_FAILURE() << "customer " << customer_id << " not in the snapshot";
  return 0;
}

TEST(ReadEasyMoneyTablesTest, ListsEveryCustomerOnceInAscendingOrder) {
  const EasyMoneyTables tables = ReadOk(Tables{});
  EXPECT_THAT(tables.customer_ids, ElementsAre(100, 200));
  EXPECT_EQ(tables.quality.product_rows, 3);
  EXPECT_EQ(tables.quality.activity_rows, 3);
  EXPECT_EQ(tables.quality.sociodemographic_rows, 3);
}

TEST(ReadEasyMoneyTablesTest, JoinsTheThreeTablesPerCustomerAndPartition) {
  const EasyMoneyTables tables = ReadOk(Tables{});
  const size_t row = RowOf(tables, 100);
  const CustomerMonth& january = tables.at(kJanuary, row);
  const CustomerMonth& february = tables.at(kFebruary, row);
  EXPECT_TRUE(january.present);
  EXPECT_EQ(january.holdings, Mask({"em_acount"}));
  EXPECT_EQ(january.segment, 2);  // 03 - UNIVERSITARIO
  EXPECT_EQ(january.age, 34);
  EXPECT_TRUE(february.present);
  EXPECT_EQ(february.holdings, Mask({"em_acount", "debit_card"}));
  EXPECT_EQ(february.segment, 1);  // 02 - PARTICULARES
  EXPECT_EQ(february.age, 35);
  EXPECT_EQ(february.gender, 0);  // H
  EXPECT_EQ(february.region, 28);
  EXPECT_EQ(february.active, 1);
  EXPECT_FALSE(february.foreign);
  EXPECT_THAT(february.salary, FloatEq(50000.5f));
  ASSERT_GE(february.channel, 0);
  EXPECT_EQ(tables.channels[february.channel], "KHE");
}

TEST(ReadEasyMoneyTablesTest, CustomerWithoutAProductRowInAMonthIsNotPresentThen) {
  const EasyMoneyTables tables = ReadOk(Tables{});
  EXPECT_FALSE(tables.at(kJanuary, RowOf(tables, 200)).present);
  EXPECT_FALSE(tables.at(kFebruary + 1, RowOf(tables, 100)).present);
}

TEST(ReadEasyMoneyTablesTest, NewestPartitionIsTheLatestMonthWithProductRows) {
  // The February rows come first in the files; the last row is January's.
  EXPECT_EQ(ReadOk(Tables{}).newest_partition, kFebruary);
}

TEST(ReadEasyMoneyTablesTest, ZeroVarianceProductsAreThoseNobodyEverHeld) {
  const EasyMoneyTables tables = ReadOk(Tables{});
  std::vector<std::string> never_held;
  for (const ProductInfo& p : kProducts) {
    if (p.id != "em_acount" && p.id != "debit_card" && p.id != "payroll" && p.id != "pension_plan") {
      never_held.emplace_back(p.id);
    }
  }
  EXPECT_EQ(tables.quality.zero_variance_products, never_held);
  EXPECT_THAT(tables.quality.zero_variance_products, ::testing::Contains("em_account_pp"));
}

TEST(ReadEasyMoneyTablesTest, ImpossibleEntryDateIsCountedAndReadAsMissing) {
  Tables input;
  input.activity[1] = "100,2018-02-28,2018-02-30,KHE,1,02 - PARTICULARES";
  const EasyMoneyTables tables = ReadOk(input);
  EXPECT_EQ(tables.quality.invalid_entry_dates, 1);
  EXPECT_EQ(tables.at(kFebruary, RowOf(tables, 100)).entry_day, CustomerMonth::kNoDate);
  EXPECT_NE(tables.at(kJanuary, RowOf(tables, 100)).entry_day, CustomerMonth::kNoDate);
}

TEST(ReadEasyMoneyTablesTest, EmptySalaryIsCountedAndReadAsMissing) {
  Tables input;
  input.sociodemographics[2] = "200,2018-02-28,ES,8,V,22,N,";
  const EasyMoneyTables tables = ReadOk(input);
  EXPECT_EQ(tables.quality.missing_salaries, 1);
  EXPECT_TRUE(std::isnan(tables.at(kFebruary, RowOf(tables, 200)).salary));
}

TEST(ReadEasyMoneyTablesTest, EmptySegmentAndChannelAreCountedAndReadAsMissing) {
  Tables input;
  input.activity[2] = "200,2018-02-28,2018-02-10,,0,";
  const EasyMoneyTables tables = ReadOk(input);
  EXPECT_EQ(tables.quality.missing_segments, 1);
  EXPECT_EQ(tables.quality.missing_entry_channels, 1);
  const CustomerMonth& month = tables.at(kFebruary, RowOf(tables, 200));
  EXPECT_EQ(month.segment, -1);
  EXPECT_EQ(month.channel, -1);
}

TEST(ReadEasyMoneyTablesTest, DataQualityLinesReportTheCounts) {
  Tables input;
  input.activity[1] = "100,2018-02-28,2018-02-30,KHE,1,02 - PARTICULARES";
  const std::vector<std::string> lines = ReadOk(input).quality.Lines();
  EXPECT_THAT(lines, ::testing::Contains(HasSubstr("invalid entry_date: 1 rows")));
  EXPECT_THAT(lines, ::testing::Contains(HasSubstr("em_account_pp")));
}

// A schema violation: which line of which table to replace, with what, and
// the column and value the error must name.
struct SchemaCase {
  std::string name;
  absl::string_view file;
  int line;  // 1 = header.
  std::string replacement;
  std::string column;
  std::string value;
};

class SchemaErrorTest : public ::testing::TestWithParam<SchemaCase> {};

TEST_P(SchemaErrorTest, IsInvalidArgumentNamingFileLineColumnAndValue) {
  const SchemaCase& c = GetParam();
  Tables input;
  std::vector<std::string>& lines = c.file == kProductsFile   ? input.products
                                    : c.file == kActivityFile ? input.activity
                                                              : input.sociodemographics;
  lines[static_cast<size_t>(c.line - 1)] = c.replacement;
  const absl::Status status = ReadError(input);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr(absl::StrCat(c.file, ":", c.line, ":")));
  EXPECT_THAT(status.message(), HasSubstr(absl::StrCat("'", c.column, "'")));
  EXPECT_THAT(status.message(), HasSubstr(absl::StrCat("'", c.value, "'")));
}

INSTANTIATE_TEST_SUITE_P(
    ReadEasyMoneyTablesTest, SchemaErrorTest,
    ::testing::Values(
        SchemaCase{"FlagOtherThanZeroOrOne", kProductsFile, 3,
                   "200,2018-02-28,0,0,0,0,0,0,0,0,2,1,0,0,0,0,0", "payroll", "2"},
        SchemaCase{"UnknownPartition", kProductsFile, 4, ProductRow("100", "2020-01-28", {"em_acount"}),
                   "pk_partition", "2020-01-28"},
        SchemaCase{"NonNumericCustomerId", kProductsFile, 2, ProductRow("abc", "2018-02-28", {}), "pk_cid", "abc"},
        SchemaCase{"UnknownSegment", kActivityFile, 3, "200,2018-02-28,2018-02-10,KFC,0,04 - VIP", "segment",
                   "04 - VIP"},
        SchemaCase{"ImpossibleAge", kSociodemographicsFile, 2, "100,2018-02-28,ES,28,H,200,N,50000.5", "age",
                   "200"},
        SchemaCase{"WrongHeader", kSociodemographicsFile, 1,
                   "pk_cid,pk_partition,country_id,region,gender,age,deceased,salary", "region_code", "region"}),
    [](const ::testing::TestParamInfo<SchemaCase>& info) { return info.param.name; });

TEST(ReadEasyMoneyTablesTest, CustomerTwiceInOnePartitionIsRefused) {
  Tables input;
  input.products.push_back(ProductRow("200", "2018-02-28", {"payroll"}));
  const absl::Status status = ReadError(input);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr(std::string(kProductsFile)));
  EXPECT_THAT(status.message(), HasSubstr("customer 200"));
  EXPECT_THAT(status.message(), HasSubstr("2018-02-28"));
}

TEST(ReadEasyMoneyTablesTest, MissingTableIsAnErrorNamingIt) {
  const std::string dir = Tables{}.Write();
  std::filesystem::remove(std::filesystem::path(dir) / std::string(kSociodemographicsFile));
  const absl::StatusOr<EasyMoneyTables> read = ReadEasyMoneyTables(dir);
  ASSERT_FALSE(read.ok());
  EXPECT_THAT(read.status().message(), HasSubstr(std::string(kSociodemographicsFile)));
}

TEST(SnapshotAtTest, HoldsOnlyTheCustomersPresentThatMonth) {
  const EasyMoneyTables tables = ReadOk(Tables{});
  const EasyMoneySnapshot january = SnapshotAt(tables, kJanuary);
  EXPECT_EQ(january.partition, kJanuary);
  EXPECT_THAT(january.customer_ids, ElementsAre(100));
  EXPECT_THAT(january.table_rows, ElementsAre(RowOf(tables, 100)));
  const EasyMoneySnapshot february = SnapshotAt(tables, kFebruary);
  EXPECT_THAT(february.customer_ids, ElementsAre(100, 200));
  EXPECT_EQ(february.profiles.size(), 2u);
}

TEST(SnapshotAtTest, HoldingsAreThoseOfThePartition) {
  const EasyMoneyTables tables = ReadOk(Tables{});
  EXPECT_THAT(SnapshotAt(tables, kJanuary).holdings, ElementsAre(Mask({"em_acount"})));
  EXPECT_THAT(SnapshotAt(tables, kFebruary).holdings,
              ElementsAre(Mask({"em_acount", "debit_card"}), Mask({"payroll", "pension_plan"})));
}

TEST(SnapshotAtTest, RecentAcquisitionsCountProductsNotHeldTheMonthBefore) {
  const EasyMoneySnapshot snapshot = SnapshotAt(ReadOk(Tables{}), kFebruary);
  const CustomerProfile& profile = snapshot.profiles[IndexOf(snapshot, 100)];
  EXPECT_EQ(profile.num_products, 2);
  EXPECT_EQ(profile.recent_acquisitions, 1);  // debit_card; em_acount was held in January.
}

TEST(SnapshotAtTest, NewCustomerCountsEveryHoldingAsRecent) {
  const EasyMoneySnapshot snapshot = SnapshotAt(ReadOk(Tables{}), kFebruary);
  const CustomerProfile& profile = snapshot.profiles[IndexOf(snapshot, 200)];
  EXPECT_EQ(profile.num_products, 2);
  EXPECT_EQ(profile.recent_acquisitions, 2);
}

TEST(SnapshotAtTest, TenureRunsFromEntryDateToThePartitionDate) {
  const EasyMoneyTables tables = ReadOk(Tables{});
  // 2017-02-28 .. 2018-02-28 is 365 days, about 12 months; a month earlier, 11.
  const EasyMoneySnapshot february = SnapshotAt(tables, kFebruary);
  EXPECT_THAT(february.profiles[IndexOf(february, 100)].tenure_months, Optional(::testing::DoubleNear(12.0, 0.05)));
  const EasyMoneySnapshot january = SnapshotAt(tables, kJanuary);
  EXPECT_THAT(january.profiles[IndexOf(january, 100)].tenure_months, Optional(::testing::DoubleNear(11.0, 0.05)));
  // 2018-02-10 .. 2018-02-28: 18 days.
  EXPECT_THAT(february.profiles[IndexOf(february, 200)].tenure_months,
              Optional(::testing::DoubleNear(18.0 / 30.44, 0.01)));
}

TEST(SnapshotAtTest, InvalidEntryDateLeavesTenureMissing) {
  Tables input;
  input.activity[1] = "100,2018-02-28,2018-02-30,KHE,1,02 - PARTICULARES";
  const EasyMoneySnapshot snapshot = SnapshotAt(ReadOk(input), kFebruary);
  EXPECT_EQ(snapshot.profiles[IndexOf(snapshot, 100)].tenure_months, std::nullopt);
}

TEST(SnapshotAtTest, ProfileFieldsAreMappedFromTheTables) {
  const EasyMoneySnapshot snapshot = SnapshotAt(ReadOk(Tables{}), kFebruary);
  const CustomerProfile& first = snapshot.profiles[IndexOf(snapshot, 100)];
  EXPECT_THAT(first.segment, Optional(std::string("02 - PARTICULARES")));
  EXPECT_THAT(first.gender, Optional(std::string("H")));
  EXPECT_THAT(first.entry_channel, Optional(std::string("KHE")));
  EXPECT_THAT(first.age, Optional(35.0));
  EXPECT_THAT(first.salary, Optional(50000.5));
  EXPECT_THAT(first.active, Optional(true));
  const CustomerProfile& second = snapshot.profiles[IndexOf(snapshot, 200)];
  EXPECT_THAT(second.segment, Optional(std::string("03 - UNIVERSITARIO")));
  EXPECT_THAT(second.gender, Optional(std::string("V")));
  EXPECT_THAT(second.entry_channel, Optional(std::string("KFC")));
  EXPECT_THAT(second.active, Optional(false));
}

TEST(SnapshotAtTest, MissingValuesStayMissingInTheProfile) {
  Tables input;
  input.activity[2] = "200,2018-02-28,2018-02-10,,,";
  input.sociodemographics[2] = "200,2018-02-28,ES,8,,,N,";
  const EasyMoneySnapshot snapshot = SnapshotAt(ReadOk(input), kFebruary);
  const CustomerProfile& profile = snapshot.profiles[IndexOf(snapshot, 200)];
  EXPECT_EQ(profile.segment, std::nullopt);
  EXPECT_EQ(profile.entry_channel, std::nullopt);
  EXPECT_EQ(profile.active, std::nullopt);
  EXPECT_EQ(profile.gender, std::nullopt);
  EXPECT_EQ(profile.age, std::nullopt);
  EXPECT_EQ(profile.salary, std::nullopt);
}

}  // namespace
}  // namespace easymoney
