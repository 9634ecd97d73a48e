#ifndef EASYMONEY_SERVER_QUERY_CONVERSION_H_
#define EASYMONEY_SERVER_QUERY_CONVERSION_H_

#include "core/model/recommender.h"
#include "easymoney/recommender/v1/recommender.pb.h"

namespace easymoney {

// The core query for a RecommendProducts request. The query borrows the
// request's strings: it is valid while `request` is. Shared by the service
// and the request fuzzer, so the fuzzer exercises what the server does.
// Thread-safe (pure function).
RecommendationQuery QueryOf(const easymoney::recommender::v1::RecommendProductsRequest& request);

}  // namespace easymoney

#endif  // EASYMONEY_SERVER_QUERY_CONVERSION_H_
