// libFuzzer target: the wire requests of the Recommender API on arbitrary
// bytes, through the core query path the server uses.
//
// The first byte picks the message: 0 RecommendProductsRequest, 1
// RecommendProductsBatchRequest, 2 ReportFeedbackRequest; the rest is parsed
// as that protobuf. A request is converted as server/recommender_service.cc
// converts it (its conversion sits in an anonymous namespace, so it is
// repeated here) and answered by Recommend() on the hand-made test model,
// extended with product rules, stored ages and flags and more cold-start
// features. Every answer is a valid ranking; every refusal is
// INVALID_ARGUMENT with a short printable message; a feedback event the
// server would accept survives the event log's JSON round trip.

#include <cstdint>
#include <string>
#include <vector>

#include <google/protobuf/stubs/logging.h>

#include "core/serving/event_log.h"
#include "core/util/proto_json.h"
#include "core/model/model.h"
#include "core/model/recommender.h"
#include "server/query_conversion.h"
#include "easymoney/model/v1/events.pb.h"
#include "easymoney/recommender/v1/recommender.pb.h"
#include "server/recommender_service.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/testing/test_model.h"

namespace easymoney {
namespace {

namespace v1 = easymoney::recommender::v1;

// Products a, b, c, d; customers 10 (age 35), 20 (deceased), 30 (age 17);
// c needs age 18, d is never recommended, nothing for the deceased.
const Model& FuzzModel() {
  static const std::shared_ptr<const Model> model = [] {
    testing::TestModel test = testing::MakeTestModel();
    auto& manifest = test.manifest;
    auto* rule = manifest.mutable_rules()->add_minimum_age();
    rule->set_product_id("c");
    rule->set_age(18);
    manifest.mutable_rules()->set_nothing_for_deceased(true);
    manifest.mutable_products(3)->set_never_recommend(true);
    manifest.mutable_training()->set_popularity_weight(0.5);
    auto add_feature = [&](const char* kind, const char* source, const char* category, double mean, double stddev) {
      auto* feature = manifest.add_features();
      feature->set_name(std::string(source) + "=" + category);
      feature->set_kind(kind);
      feature->set_source(source);
      feature->set_category(category);
      feature->set_mean(mean);
      feature->set_stddev(stddev);
      return feature;
    };
    add_feature("one_hot", "segment", "02 - PARTICULARES", 0.5, 0.5);
    add_feature("numeric", "log_salary", "", 10, 2)->set_winsor_high(14);
    add_feature("one_hot", "entry_channel", "(other)", 0.3, 0.4)->add_other_excludes("KHE");
    add_feature("numeric", "tenure_months", "", 30, 20)->set_impute_value(12);
    manifest.set_num_features(manifest.features_size());
    test.arrays.cluster_centroids = RowMajorMatrix::Zero(2, manifest.features_size());
    test.arrays.cluster_centroids.row(0).setConstant(-1);
    test.arrays.cluster_centroids.row(1).setConstant(1);
    test.arrays.customer_ages = {35, -1, 17};
    test.arrays.customer_flags = {0, 1, 0};
    auto model = Model::FromArrays(1, manifest, test.arrays);
    FUZZ_CHECK(model.ok());
    return *model;
  }();
  return *model;
}

void CheckAnswer(const v1::RecommendProductsRequest& request) {
  const Model& model = FuzzModel();
  absl::StatusOr<Recommendation> answer = Recommend(model, QueryOf(request));
  if (!answer.ok()) {
    FUZZ_CHECK(absl::IsInvalidArgument(answer.status()));
    FUZZ_CHECK(fuzz::IsPrintableText(answer.status().message()));
    // Bad values are quoted in part at most (64 characters, hex-escaped).
    FUZZ_CHECK(answer.status().message().size() <= 512);
    return;
  }
  const int wanted = request.num_results() == 0 ? kDefaultNumResults : request.num_results();
  FUZZ_CHECK(static_cast<int>(answer->products.size()) <= wanted);
  std::vector<bool> seen(static_cast<size_t>(model.num_products()), false);
  for (size_t i = 0; i < answer->products.size(); ++i) {
    const ScoredIndex& scored = answer->products[i];
    FUZZ_CHECK(scored.index >= 0 && scored.index < model.num_products());
    FUZZ_CHECK(!seen[scored.index]);
    seen[scored.index] = true;
    FUZZ_CHECK(scored.index != 3);  // d is never recommended.
    if (i > 0) FUZZ_CHECK(!(scored.score > answer->products[i - 1].score));  // Best first.
  }
  if (answer->cluster_id.has_value()) FUZZ_CHECK(*answer->cluster_id == 0 || *answer->cluster_id == 1);
}

// As ReportFeedback in server/recommender_service.cc up to the event log,
// then the line the log would hold, read back.
void CheckFeedback(const v1::ReportFeedbackRequest& request) {
  const char* event = nullptr;
  switch (request.event()) {
    case v1::FEEDBACK_EVENT_IMPRESSION:
      event = "impression";
      break;
    case v1::FEEDBACK_EVENT_CLICK:
      event = "click";
      break;
    case v1::FEEDBACK_EVENT_CONVERSION:
      event = "conversion";
      break;
    default:
      return;  // INVALID_ARGUMENT.
  }
  if (request.variant() != v1::VARIANT_STABLE && request.variant() != v1::VARIANT_CANARY) return;
  if (request.event_time_unix_ms() < 0) return;
  easymoney::model::v1::EventRecord record;
  record.set_kind("feedback");
  record.set_time_unix_ms(request.event_time_unix_ms());
  record.set_request_id(request.request_id());
  record.set_model_version(request.model_version());
  record.set_variant(request.variant() == v1::VARIANT_CANARY ? "canary" : "stable");
  record.set_customer_id(request.customer_id());
  record.set_product_id(request.product_id());
  record.set_event(event);
  const std::string line = FormatEventRecord(record);
  FUZZ_CHECK(line.find('\n') == std::string::npos);  // One record, one line.
  easymoney::model::v1::EventRecord back;
  FUZZ_CHECK(ParseProtoJson(line, &back).ok());
  FUZZ_CHECK(back.SerializeAsString() == record.SerializeAsString());
}

}  // namespace
}  // namespace easymoney

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace easymoney;
  // Invalid UTF-8 in a string field is logged by protobuf on every parse:
  // noise here (the server test checks the refusal). A static object, not a
  // leaked `new`: the optimizer drops an unused pointer and LeakSanitizer
  // then reports the allocation.
  static google::protobuf::LogSilencer silence;
  if (size == 0) return 0;
  const int kind = data[0] % 3;
  const void* message = data + 1;
  const int length = static_cast<int>(std::min<size_t>(size - 1, 1 << 20));
  if (kind == 0) {
    v1::RecommendProductsRequest request;
    if (request.ParseFromArray(message, length)) CheckAnswer(request);
  } else if (kind == 1) {
    v1::RecommendProductsBatchRequest batch;
    // The server answers a batch item by item, and refuses more than 500.
    if (batch.ParseFromArray(message, length) && batch.requests_size() <= kMaxBatchSize) {
      for (const auto& request : batch.requests()) CheckAnswer(request);
    }
  } else {
    v1::ReportFeedbackRequest request;
    if (request.ParseFromArray(message, length)) CheckFeedback(request);
  }
  return 0;
}
