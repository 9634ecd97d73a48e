#ifndef EASYMONEY_TESTS_TESTING_FEEDBACK_ABOUT_H_
#define EASYMONEY_TESTS_TESTING_FEEDBACK_ABOUT_H_

#include <string>

#include "easymoney/recommender/v1/recommender.pb.h"

namespace easymoney::testing {

// The feedback a page sends about an answer it showed `customer_id`: the
// answer's signed request_id, version and variant, and its first product
// (the caller makes sure there is one).
inline easymoney::recommender::v1::ReportFeedbackRequest FeedbackAbout(
    const easymoney::recommender::v1::RecommendProductsResponse& answer, const std::string& customer_id,
    easymoney::recommender::v1::FeedbackEvent event) {
  easymoney::recommender::v1::ReportFeedbackRequest feedback;
  feedback.set_request_id(answer.request_id());
  feedback.set_model_version(answer.model_version());
  feedback.set_variant(answer.variant());
  feedback.set_customer_id(customer_id);
  feedback.set_product_id(answer.products(0).product_id());
  feedback.set_event(event);
  return feedback;
}

}  // namespace easymoney::testing

#endif  // EASYMONEY_TESTS_TESTING_FEEDBACK_ABOUT_H_
