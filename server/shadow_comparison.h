#ifndef EASYMONEY_SERVER_SHADOW_COMPARISON_H_
#define EASYMONEY_SERVER_SHADOW_COMPARISON_H_

#include <optional>
#include <string>
#include <vector>

#include "core/serving/serving_set.h"
#include "easymoney/recommender/v1/recommender.pb.h"
#include "server/server_metrics.h"

namespace easymoney {

// Shadow mode: a sample of requests is also scored by a shadow version, for
// comparison only, and the share of the served answer the shadow reproduces
// is recorded (recommender_shadow_overlap). The comparison runs after the
// response is sent, on copies, since the request and response belong to
// gRPC once the call is finished.
//
//   std::optional<ShadowComparison> shadow = ShadowComparison::Prepare(*serving, request, response);
//   reactor->Finish(status);
//   if (shadow) shadow->Run(*serving, *metrics.shadow);
//
// Thread-compatible (one per request).
class ShadowComparison {
 public:
  // A comparison when `serving` shadows the request's customer; nullopt
  // otherwise (no copy made).
  static std::optional<ShadowComparison> Prepare(const ServingSet& serving,
                                                 const easymoney::recommender::v1::RecommendProductsRequest& request,
                                                 const easymoney::recommender::v1::RecommendProductsResponse& response);

  // Scores the request with serving.shadow and records the overlap.
  void Run(const ServingSet& serving, const ShadowMetrics& metrics) const;

 private:
  ShadowComparison() = default;

  easymoney::recommender::v1::RecommendProductsRequest request_;
  std::vector<std::string> served_;  // Product ids of the served answer.
};

}  // namespace easymoney

#endif  // EASYMONEY_SERVER_SHADOW_COMPARISON_H_
