#ifndef EASYMONEY_CORE_MODEL_EASYMONEY_SCHEMA_H_
#define EASYMONEY_CORE_MODEL_EASYMONEY_SCHEMA_H_

// The easyMoney tables' schema: file names, column names in file order, the
// product catalogue and the monthly partitions. Shared by the data generator
// (which writes the tables) and the trainer (which reads them), so both sides
// agree by construction.

#include <array>

#include "absl/strings/string_view.h"


namespace easymoney {

struct ProductInfo {
  absl::string_view id;      // Column name in customer_products.csv.
  absl::string_view name;    // Display name.
  absl::string_view family;  // accounts, cards, savings, investments, credit, pensions.
};

// In the column order of customer_products.csv (after pk_cid, pk_partition).
// The misspelt "em_acount" is the real data set's column name.
inline constexpr std::array<ProductInfo, 15> kProducts = {{
    {"short_term_deposit", "Short-term deposit", "savings"},
    {"loans", "Loan", "credit"},
    {"mortgage", "Mortgage", "credit"},
    {"funds", "Investment funds", "investments"},
    {"securities", "Securities", "investments"},
    {"long_term_deposit", "Long-term deposit", "savings"},
    {"em_account_pp", "easyMoney account PP", "accounts"},
    {"credit_card", "Credit card", "cards"},
    {"payroll", "Payroll", "accounts"},
    {"pension_plan", "Pension plan", "pensions"},
    {"payroll_account", "Payroll account", "accounts"},
    {"emc_account", "easyMoney+ account", "accounts"},
    {"debit_card", "Debit card", "cards"},
    {"em_account_p", "easyMoney account P", "accounts"},
    {"em_acount", "easyMoney account", "accounts"},
}};

inline constexpr absl::string_view kProductsFile = "customer_products.csv";
inline constexpr absl::string_view kActivityFile = "customer_commercial_activity.csv";
inline constexpr absl::string_view kSociodemographicsFile = "customer_sociodemographics.csv";

// customer_products.csv: pk_cid, pk_partition, then one 0/1 column per
// kProducts entry in that order.
inline constexpr std::array<absl::string_view, 6> kActivityColumns = {
    "pk_cid", "pk_partition", "entry_date", "entry_channel", "active_customer", "segment"};
inline constexpr std::array<absl::string_view, 8> kSociodemographicsColumns = {
    "pk_cid", "pk_partition", "country_id", "region_code", "gender", "age", "deceased", "salary"};

// Monthly partitions, oldest first, as written in pk_partition.
inline constexpr std::array<absl::string_view, 17> kPartitions = {
    "2018-01-28", "2018-02-28", "2018-03-28", "2018-04-28", "2018-05-28", "2018-06-28",
    "2018-07-28", "2018-08-28", "2018-09-28", "2018-10-28", "2018-11-28", "2018-12-28",
    "2019-01-28", "2019-02-28", "2019-03-28", "2019-04-28", "2019-05-28"};

inline constexpr std::array<absl::string_view, 3> kSegments = {
    "01 - TOP", "02 - PARTICULARES", "03 - UNIVERSITARIO"};

}  // namespace easymoney

#endif  // EASYMONEY_CORE_MODEL_EASYMONEY_SCHEMA_H_
