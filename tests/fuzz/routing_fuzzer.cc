// libFuzzer target: MODEL_BASE/routing.json (ParseRoutingJson in
// core/serving/routing_file.cc) on arbitrary bytes, and what the server does
// with an accepted routing: the canary split (core/serving/canary_router.cc)
// and the canary analysis settings (core/serving/canary_analysis.cc).
//
// An accepted routing has both percents within 0..100 (NaN included in the
// refusal), prints and parses back to itself, routes 0% to stable and 100%
// to the canary, and its analysis window is within what WindowStats keeps.

#include <cmath>
#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "core/serving/canary_analysis.h"
#include "core/serving/canary_router.h"
#include "core/util/proto_json.h"
#include "core/serving/routing_file.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

bool SameDouble(double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); }

bool SameRouting(const easymoney::model::v1::RoutingConfig& a, const easymoney::model::v1::RoutingConfig& b) {
  const auto& x = a.analysis();
  const auto& y = b.analysis();
  return a.stable_version() == b.stable_version() && a.canary_version() == b.canary_version() &&
         SameDouble(a.canary_percent(), b.canary_percent()) && a.salt() == b.salt() &&
         a.shadow_version() == b.shadow_version() && SameDouble(a.shadow_percent(), b.shadow_percent()) &&
         a.last_auto_rollback() == b.last_auto_rollback() && x.enabled() == y.enabled() &&
         x.window_seconds() == y.window_seconds() && x.min_requests() == y.min_requests() &&
         SameDouble(x.max_error_ratio_increase(), y.max_error_ratio_increase()) &&
         SameDouble(x.max_p99_ratio(), y.max_p99_ratio()) && SameDouble(x.p99_floor_seconds(), y.p99_floor_seconds());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace easymoney;
  const absl::string_view json(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<easymoney::model::v1::RoutingConfig> routing = ParseRoutingJson(json);
  if (!routing.ok()) {
    FUZZ_CHECK(fuzz::IsPrintableText(routing.status().message()));
    return 0;
  }
  FUZZ_CHECK(routing->canary_percent() >= 0 && routing->canary_percent() <= 100);
  FUZZ_CHECK(routing->shadow_percent() >= 0 && routing->shadow_percent() <= 100);

  // The server persists routing with ProtoToJson: what it writes it reads.
  // (Compared by value: protobuf prints -0 and reads it back as +0, which
  // MessageDifferencer would count as a difference in field presence.)
  absl::StatusOr<easymoney::model::v1::RoutingConfig> again = ParseRoutingJson(ProtoToJson(*routing));
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(SameRouting(*again, *routing));

  for (const char* customer : {"10", "1375586", "9223372036854775807"}) {
    const Variant variant = RouteCustomer(customer, routing->salt(), routing->canary_percent());
    if (routing->canary_percent() == 0) FUZZ_CHECK(variant == Variant::kStable);
    if (routing->canary_percent() == 100) FUZZ_CHECK(variant == Variant::kCanary);
  }

  const absl::Duration window = AnalysisWindow(routing->analysis());
  FUZZ_CHECK(window >= absl::Seconds(1) && window <= absl::Seconds(WindowStats::kMaxWindowSeconds));
  WindowStats::WindowSummary stable{.requests = 1000, .server_errors = 1, .p99_seconds = 0.002};
  WindowStats::WindowSummary canary{.requests = 1000, .server_errors = 1, .p99_seconds = 0.002};
  // The same traffic on both sides is never a reason to roll back.
  FUZZ_CHECK(!CanaryVerdict(stable, canary, routing->analysis()).has_value());
  canary.server_errors = 1000;
  canary.p99_seconds = 10;
  (void)CanaryVerdict(stable, canary, routing->analysis());
  return 0;
}
