#ifndef EASYMONEY_CORE_SERVING_SERVED_LINE_H_
#define EASYMONEY_CORE_SERVING_SERVED_LINE_H_

#include <cstdint>
#include <string>

#include "absl/types/span.h"
#include "absl/strings/string_view.h"
#include "core/model/recommender.h"
#include "core/serving/canary_router.h"

namespace easymoney {

// One answer as the event log records it (an EventRecord of kind "served").
struct ServedAnswer {
  absl::string_view request_id;
  int64_t model_version = 0;
  Variant variant = Variant::kStable;
  absl::string_view customer_id;
  absl::Span<const absl::string_view> product_ids;  // In the answer's order.
  Strategy strategy = Strategy::kPersonalised;
};

// Formats `answer` into `out` (cleared first) as the event log line
// FormatEventRecord would print for its EventRecord, by hand: this runs for
// every logged answer, and protobuf's JSON printer costs several
// microseconds and allocations per call. Reuse `out` across calls.
// Thread-safe (a pure function).
void FormatServedLine(const ServedAnswer& answer, int64_t time_unix_ms, std::string& out);

// "personalised", "popular", "fold_in" or "cluster".
const char* StrategyName(Strategy strategy);

}  // namespace easymoney

#endif  // EASYMONEY_CORE_SERVING_SERVED_LINE_H_
