#ifndef EASYMONEY_CLIENT_FLEET_COUNTERS_H_
#define EASYMONEY_CLIENT_FLEET_COUNTERS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/training/retraining.h"

namespace easymoney {

// Sums one rollout's counters over the replicas' Prometheus expositions:
// RecommendProducts calls and server errors (recommender_requests_total),
// feedback events (recommender_feedback_events_total) and the latency
// histogram (recommender_request_duration_seconds, p99 by interpolation in
// the summed buckets), for `stable` answering as the stable variant and
// `canary` as the canary. Pure: `expositions` are /metrics bodies.
FleetCounters SumFleetCounters(const std::vector<std::string>& expositions, int64_t stable, int64_t canary);

// GET http://<host:port>/metrics from every target (each a host:port; a
// host name that resolves to several IPv4 addresses is every one of them,
// as a Kubernetes headless Service), then SumFleetCounters. Errors: UNAVAILABLE
// naming a target that did not answer (a decision on part of the fleet is
// no fleet decision).
absl::StatusOr<FleetCounters> ScrapeFleetCounters(const std::vector<std::string>& targets, int64_t stable,
                                                  int64_t canary);

}  // namespace easymoney

#endif  // EASYMONEY_CLIENT_FLEET_COUNTERS_H_
