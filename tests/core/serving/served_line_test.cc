#include "core/serving/served_line.h"

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "core/serving/event_log.h"
#include "gtest/gtest.h"

namespace easymoney {
namespace {

using easymoney::model::v1::EventRecord;

// The hand-made line must be exactly what protobuf's JSON printer makes of
// the same record: readers of the log parse both alike.
TEST(ServedLineTest, IsTheLineFormatEventRecordPrints) {
  const std::vector<absl::string_view> products = {"debit_card", "emc_account", "payroll"};
  const ServedAnswer answer{.request_id = "0123456789abcde",
                            .model_version = 12,
                            .variant = Variant::kCanary,
                            .customer_id = "15889",
                            .product_ids = products,
                            .strategy = Strategy::kFoldIn};
  std::string line = "left over from an earlier answer";
  FormatServedLine(answer, 1764979200123, line);

  EventRecord record;
  record.set_kind("served");
  record.set_time_unix_ms(1764979200123);
  record.set_request_id("0123456789abcde");
  record.set_model_version(12);
  record.set_variant("canary");
  record.set_customer_id("15889");
  for (absl::string_view product : products) record.add_products(std::string(product));
  record.set_strategy("fold_in");
  EXPECT_EQ(line, FormatEventRecord(record));
}

TEST(ServedLineTest, AnEmptyAnswerHasNoProductsField) {
  const ServedAnswer answer{.request_id = "r", .model_version = 1, .customer_id = "7", .product_ids = {}};
  std::string line;
  FormatServedLine(answer, 5, line);
  EventRecord record;
  record.set_kind("served");
  record.set_time_unix_ms(5);
  record.set_request_id("r");
  record.set_model_version(1);
  record.set_variant("stable");
  record.set_customer_id("7");
  record.set_strategy("personalised");
  EXPECT_EQ(line, FormatEventRecord(record));
}

TEST(ServedLineTest, ForgedIdsStayInsideTheirStrings) {
  const ServedAnswer answer{
      .request_id = "r", .model_version = 1, .customer_id = "7\",\"kind\":\"feedback", .product_ids = {}};
  std::string line;
  FormatServedLine(answer, 5, line);
  EXPECT_NE(line.find(R"("customer_id":"7\",\"kind\":\"feedback")"), std::string::npos) << line;
}

TEST(ServedLineTest, NamesEveryStrategyAsTheApiDoes) {
  EXPECT_STREQ(StrategyName(Strategy::kPersonalised), "personalised");
  EXPECT_STREQ(StrategyName(Strategy::kPopular), "popular");
  EXPECT_STREQ(StrategyName(Strategy::kFoldIn), "fold_in");
  EXPECT_STREQ(StrategyName(Strategy::kCluster), "cluster");
}

}  // namespace
}  // namespace easymoney
