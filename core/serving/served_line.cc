#include "core/serving/served_line.h"

#include "absl/strings/str_cat.h"
#include "core/util/json_string.h"

namespace easymoney {

const char* StrategyName(Strategy strategy) {
  switch (strategy) {
    case Strategy::kPopular:
      return "popular";
    case Strategy::kFoldIn:
      return "fold_in";
    case Strategy::kCluster:
      return "cluster";
    case Strategy::kPersonalised:
      break;
  }
  return "personalised";
}

void FormatServedLine(const ServedAnswer& answer, int64_t time_unix_ms, std::string& out) {
  out.clear();
  absl::StrAppend(&out, R"({"kind":"served","time_unix_ms":")", time_unix_ms, R"(","request_id":)");
  AppendJsonString(out, answer.request_id);
  absl::StrAppend(&out, R"(,"model_version":")", answer.model_version, R"(","variant":")",
                  answer.variant == Variant::kCanary ? "canary" : "stable", R"(","customer_id":)");
  AppendJsonString(out, answer.customer_id);
  if (!answer.product_ids.empty()) {
    out.append(R"(,"products":[)");
    for (size_t i = 0; i < answer.product_ids.size(); ++i) {
      if (i > 0) out.push_back(',');
      AppendJsonString(out, answer.product_ids[i]);
    }
    out.push_back(']');
  }
  absl::StrAppend(&out, R"(,"strategy":")", StrategyName(answer.strategy), "\"}");
}

}  // namespace easymoney
