#include "server/floor_service.h"

namespace easymoney {

namespace v1 = easymoney::recommender::v1;

FloorService::FloorService() {
  // The products and display names easyMoney's top five usually are, so the
  // response has the size of a real one.
  const char* const kProducts[][2] = {{"em_acount", "Cuenta easyMoney"},
                                      {"debit_card", "Tarjeta de débito"},
                                      {"long_term_deposit", "Depósito a largo plazo"},
                                      {"em_account_pp", "Cuenta easyMoney+"},
                                      {"securities", "Valores"}};
  float score = 1.0f;
  for (const auto& [id, name] : kProducts) {
    v1::RecommendedProduct* product = constant_.add_products();
    product->set_product_id(id);
    product->set_display_name(name);
    product->set_score(score);
    score -= 0.1f;
  }
  constant_.set_model_version(1);
  constant_.set_cluster_id(3);
  constant_.set_strategy(v1::STRATEGY_PERSONALISED);
  constant_.set_variant(v1::VARIANT_STABLE);
}

grpc::ServerUnaryReactor* FloorService::RecommendProducts(grpc::CallbackServerContext* context,
                                                          const v1::RecommendProductsRequest*,
                                                          v1::RecommendProductsResponse* response) {
  *response = constant_;
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace easymoney
