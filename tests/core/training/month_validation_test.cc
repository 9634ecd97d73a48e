#include "core/training/month_validation.h"

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"
#include "core/training/datagen.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace easymoney {
namespace {

using ::testing::HasSubstr;

// Three simulated months of 5,000 customers; `broken` writes the last one's
// product flags empty.
EasyMoneyTables ThreeMonths(bool broken = false) {
  DatagenOptions options;
  options.num_customers = 5000;
  options.out_dir = absl::StrCat(::testing::TempDir(), "/month_validation_", ::getpid(), broken ? "_broken" : "");
  options.last_partition = "2018-03-28";
  if (broken) options.broken_partition = "2018-03-28";
  EXPECT_TRUE(GenerateEasyMoneyTables(options).ok());
  auto tables = ReadEasyMoneyTables(options.out_dir);
  EXPECT_TRUE(tables.ok()) << tables.status();
  std::filesystem::remove_all(options.out_dir);
  return tables.ok() ? *std::move(tables) : EasyMoneyTables();
}

const ValidationCheck* Find(const MonthValidation& validation, const std::string& name) {
  for (const ValidationCheck& check : validation.checks) {
    if (check.name == name) return &check;
  }
  ADD_FAILURE() << "no check " << name;
  return nullptr;
}

class MonthValidationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { tables_ = new EasyMoneyTables(ThreeMonths()); }
  static void TearDownTestSuite() { delete tables_; }
  static EasyMoneyTables* tables_;
};
EasyMoneyTables* MonthValidationTest::tables_ = nullptr;

TEST_F(MonthValidationTest, AnOrdinaryMonthPasses) {
  auto validation = ValidateNewestMonth(*tables_, {});
  ASSERT_TRUE(validation.ok()) << validation.status();
  EXPECT_TRUE(validation->passed()) << validation->FailureSummary();
  EXPECT_EQ(validation->partition, "2018-03-28");
  EXPECT_EQ(validation->previous_partition, "2018-02-28");
  for (const char* name : {"row_count_change", "returning_customers", "empty_product_flags", "missing_rate:salary",
                           "missing_rate_rise:segment", "feature_psi:age", "feature_psi:segment"}) {
    EXPECT_NE(Find(*validation, name), nullptr);
  }
  EXPECT_THAT(validation->ToJson(), HasSubstr("\"passed\":true"));
}

// A copy of the tables with `damage` done to every present customer of the
// newest month.
template <typename Damage>
EasyMoneyTables Damaged(const EasyMoneyTables& tables, Damage damage) {
  EasyMoneyTables copy = tables;
  for (size_t row = 0; row < copy.num_customers(); ++row) {
    CustomerMonth& month = copy.months[static_cast<size_t>(copy.newest_partition) * copy.num_customers() + row];
    if (month.present) damage(row, month);
  }
  return copy;
}

TEST_F(MonthValidationTest, EachKindOfDamageFailsItsOwnCheck) {
  struct Case {
    const char* what;
    EasyMoneyTables tables;
    const char* check;
  };
  const Case cases[] = {
      {"two thirds of the customers missing",
       Damaged(*tables_, [](size_t row, CustomerMonth& m) { m.present = m.present && row % 3 == 0; }),
       "row_count_change"},
      {"two thirds of the customers missing",
       Damaged(*tables_, [](size_t row, CustomerMonth& m) { m.present = row % 3 == 0; }), "returning_customers"},
      {"no salaries", Damaged(*tables_, [](size_t, CustomerMonth& m) { m.salary = NAN; }), "missing_rate:salary"},
      {"a fifth of segments lost",
       Damaged(*tables_, [](size_t row, CustomerMonth& m) { m.segment = row % 5 == 0 ? -1 : m.segment; }),
       "missing_rate_rise:segment"},
      {"everyone 30 years older",
       Damaged(*tables_, [](size_t, CustomerMonth& m) { m.age = m.age < 0 ? m.age : static_cast<int16_t>(m.age + 30); }),
       "feature_psi:age"},
      {"everyone active", Damaged(*tables_, [](size_t, CustomerMonth& m) { m.active = 1; }),
       "feature_psi:active_customer"},
  };
  for (const Case& c : cases) {
    auto validation = ValidateNewestMonth(c.tables, {});
    ASSERT_TRUE(validation.ok()) << c.what;
    EXPECT_FALSE(validation->passed()) << c.what;
    const ValidationCheck* check = Find(*validation, c.check);
    ASSERT_NE(check, nullptr) << c.what;
    EXPECT_FALSE(check->passed) << c.what << ": " << c.check << " = " << check->value;
    EXPECT_THAT(validation->FailureSummary(), HasSubstr(c.check)) << c.what;
  }
}

TEST(MonthValidation, AMonthWithEmptyProductFlagsIsBlocked) {
  const EasyMoneyTables tables = ThreeMonths(/*broken=*/true);
  auto validation = ValidateNewestMonth(tables, {});
  ASSERT_TRUE(validation.ok()) << validation.status();
  EXPECT_FALSE(validation->passed());
  const ValidationCheck* flags = Find(*validation, "empty_product_flags");
  ASSERT_NE(flags, nullptr);
  EXPECT_DOUBLE_EQ(flags->value, 1.0);
  EXPECT_THAT(validation->FailureSummary(), HasSubstr("empty_product_flags = 1, above the limit 0.01"));
  EXPECT_THAT(validation->ToJson(), HasSubstr("\"passed\":false"));
}

TEST(MonthValidation, ANonFiniteValueIsNullInTheJson) {
  MonthValidation validation;
  validation.checks.push_back({.name = "row_count_change", .value = INFINITY, .limit = 0.5, .passed = false});
  EXPECT_THAT(validation.ToJson(), HasSubstr("{\"name\":\"row_count_change\",\"value\":null,\"limit\":0.5,"));
}

TEST(MonthValidation, OneMonthHasNothingToCompareWith) {
  EasyMoneyTables tables;
  tables.newest_partition = 0;
  EXPECT_EQ(ValidateNewestMonth(tables, {}).status().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace easymoney
