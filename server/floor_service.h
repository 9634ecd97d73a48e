#ifndef EASYMONEY_SERVER_FLOOR_SERVICE_H_
#define EASYMONEY_SERVER_FLOOR_SERVICE_H_

#include "easymoney/recommender/v1/recommender.grpc.pb.h"

namespace easymoney {

// The performance floor: the Recommender service answering every
// RecommendProducts with one constant five-product response, shaped like a
// real one, with no model, routing or metrics work. What a load generator
// measures against it is the cost of gRPC itself on this machine; the real
// server is compared with it side by side (scripts/bench).
//
// Thread-safe (the response is immutable after construction).
class FloorService final : public easymoney::recommender::v1::Recommender::CallbackService {
 public:
  FloorService();

  grpc::ServerUnaryReactor* RecommendProducts(grpc::CallbackServerContext* context,
                                              const easymoney::recommender::v1::RecommendProductsRequest* request,
                                              easymoney::recommender::v1::RecommendProductsResponse* response) override;

 private:
  easymoney::recommender::v1::RecommendProductsResponse constant_;
};

}  // namespace easymoney

#endif  // EASYMONEY_SERVER_FLOOR_SERVICE_H_
