#include "server/recommender_calls.h"

#include <functional>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <thread>

#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/model/recommender.h"
#include "core/serving/served_line.h"
#include "server/query_conversion.h"
#include "server/shadow_comparison.h"
#include "server/status_conversion.h"

namespace easymoney {
namespace {

namespace v1 = easymoney::recommender::v1;

v1::Strategy ToProto(Strategy strategy) {
  switch (strategy) {
    case Strategy::kPersonalised:
      return v1::STRATEGY_PERSONALISED;
    case Strategy::kPopular:
      return v1::STRATEGY_POPULAR;
    case Strategy::kFoldIn:
      return v1::STRATEGY_FOLD_IN;
    case Strategy::kCluster:
      return v1::STRATEGY_CLUSTER;
  }
  return v1::STRATEGY_UNSPECIFIED;
}

v1::Variant ToProto(Variant variant) { return variant == Variant::kCanary ? v1::VARIANT_CANARY : v1::VARIANT_STABLE; }

bool IsServerError(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::UNKNOWN:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
    case grpc::StatusCode::INTERNAL:
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DATA_LOSS:
      return true;
    default:
      return false;
  }
}

// Per-thread generator of request ids and sampling draws: no lock, no
// allocation.
std::mt19937_64& ThreadRandom() {
  thread_local std::mt19937_64 random(std::random_device{}() ^
                                      (static_cast<uint64_t>(std::hash<std::thread::id>{}(std::this_thread::get_id()))
                                       << 1));
  return random;
}

uint64_t SampleThreshold(double share) {
  if (!(share > 0)) return 0;
  if (share >= 1) return std::numeric_limits<uint64_t>::max();
  return static_cast<uint64_t>(share * 18446744073709551615.0);
}

// Answers one request with `model`, counting it in `metrics`; `strategy`
// receives how the answer was made.
grpc::Status Answer(const Model& model, Variant variant, const VersionMetrics& metrics,
                    const RequestIdSigner& request_ids, const v1::RecommendProductsRequest& request,
                    v1::RecommendProductsResponse* response, Strategy* strategy) {
  absl::StatusOr<Recommendation> result = Recommend(model, QueryOf(request));
  if (!result.ok()) return ToGrpcStatus(result.status());
  // The id proves this answer to whichever replica receives its feedback.
  AnswerClaim claim{.model_version = model.version(), .variant = variant, .served_unix_ms = absl::ToUnixMillis(absl::Now())};
  for (const ScoredIndex& scored : result->products) claim.product_indices.push_back(scored.index);
  response->set_request_id(request_ids.Issue(claim, request.customer_id()));
  *strategy = result->strategy;
  if (result->cluster_id.has_value()) metrics.RecordCluster(*result->cluster_id);
  if (!result->known_customer && metrics.cold_start[0] != nullptr) {  // Null: handles without a model.
    const int kind = result->strategy == Strategy::kFoldIn   ? VersionMetrics::kFoldIn
                     : result->strategy == Strategy::kCluster ? VersionMetrics::kCluster
                                                              : VersionMetrics::kPopular;
    metrics.cold_start[kind]->Increment();
    if (request.has_profile()) {
      const auto& profile = request.profile();
      metrics.RecordColdStartProfile(profile.has_age() ? std::optional<double>(profile.age()) : std::nullopt,
                                     profile.has_salary() ? std::optional<double>(profile.salary()) : std::nullopt);
    }
  }

  response->set_model_version(model.version());
  response->set_strategy(ToProto(result->strategy));
  if (result->cluster_id.has_value()) response->set_cluster_id(*result->cluster_id);
  for (const ScoredIndex& scored : result->products) {
    const auto& product = model.product(scored.index);
    v1::RecommendedProduct* out = response->add_products();
    out->set_product_id(product.id());
    out->set_display_name(product.name());
    out->set_score(scored.score);
    metrics.recommendations[scored.index]->Increment();
  }
  return grpc::Status::OK;
}

// A call whose deadline has passed or that was cancelled gets no work.
std::optional<grpc::Status> Expired(const CallTransport& transport) {
  // The deadline first: gRPC also cancels a call whose deadline passed.
  if (transport.deadline < absl::Now()) {
    return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "the deadline passed before the request was served");
  }
  if (transport.cancelled && transport.cancelled()) {
    return grpc::Status(grpc::StatusCode::CANCELLED, "the call was cancelled");
  }
  return std::nullopt;
}

void FillModelInfo(const Model& model, Variant variant, v1::ServingModelInfo* info) {
  const auto& manifest = model.manifest();
  info->set_version(model.version());
  info->set_variant(ToProto(variant));
  info->set_created_at(manifest.created_at());
  info->set_training_partition(manifest.training().partition());
  info->set_num_customers(model.num_customers());
  info->set_num_factors(model.num_factors());
  info->set_num_clusters(manifest.num_clusters());
  for (const auto& product : manifest.products()) {
    v1::CatalogueProduct* out = info->add_products();
    out->set_product_id(product.id());
    out->set_display_name(product.name());
    out->set_family(product.family());
    out->set_never_recommend(product.never_recommend());
  }
  info->set_evaluation_protocol(manifest.evaluation().protocol());
  for (const auto& method : manifest.evaluation().methods()) {
    v1::MethodSummary* out = info->add_evaluation();
    out->set_method(method.method());
    out->set_k(method.k());
    out->set_map(method.map());
    out->set_map_relevant(method.map_relevant());
    out->set_precision(method.precision());
    out->set_recall(method.recall());
    out->set_ndcg(method.ndcg());
  }
  info->set_selection(manifest.training().selection());
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

RecommenderCalls::RecommenderCalls(const Options& options)
    : metrics_(options.metrics),
      models_(options.models),
      admission_(options.admission),
      window_(options.window),
      feedback_(options.feedback),
      request_ids_(options.request_ids),
      event_log_(options.event_log),
      served_log_threshold_(SampleThreshold(options.served_log_sample)) {}

RecommenderCalls::Start RecommenderCalls::Begin(const grpc::Status& authorization, const CallTransport& transport,
                                                Needs needs) {
  Start start;
  start.status = authorization;
  if (start.status.ok()) {
    if (absl::Status admitted = admission_->Admit(); !admitted.ok()) {
      metrics_->OnShed();
      start.status = ToGrpcStatus(admitted);
    }
  }
  if (!start.status.ok()) return start;
  start.admitted = true;
  if (needs == Needs::kNothing) return start;
  if (std::optional<grpc::Status> expired = Expired(transport)) {
    start.status = *expired;
    return start;
  }
  // One snapshot for the whole call: a swap mid-request cannot mix
  // versions, and the models stay alive until this reference is dropped.
  start.serving = models_->Current();
  if (start.serving == nullptr) {
    start.status = grpc::Status(grpc::StatusCode::UNAVAILABLE, "no model version is loaded yet");
  }
  return start;
}

bool RecommenderCalls::SampleServed() const {
  return event_log_ != nullptr && served_log_threshold_ != 0 && ThreadRandom()() <= served_log_threshold_;
}

void RecommenderCalls::RecommendProducts(const Start& start, const CallTransport& transport,
                                         const v1::RecommendProductsRequest& request,
                                         v1::RecommendProductsResponse* response, Send send) {
  grpc::Status status = start.status;
  // Refused before any work (authentication or overload): counted under
  // version "none", not under the version that would have answered.
  const VersionMetrics* metrics = &metrics_->without_model();
  Variant variant = Variant::kStable;
  Strategy strategy = Strategy::kPersonalised;
  const ServingSetMetrics* serving_metrics = nullptr;
  if (status.ok()) {
    serving_metrics = &start.serving->attached<ServingSetMetrics>();
    variant = start.serving->RouteOf(request.customer_id());
    metrics = serving_metrics->variants[static_cast<int>(variant)].get();
    status = Answer(start.serving->ModelFor(variant), variant, *metrics, *request_ids_, request, response, &strategy);
    if (status.ok()) response->set_variant(ToProto(variant));
  }
  const double seconds = SecondsSince(transport.received);
  metrics->RecordRequest(transport.protocol, status.error_code(), seconds);
  if (start.admitted) admission_->AddWork(seconds);
  if (start.admitted && start.serving != nullptr && start.serving->canary && window_ != nullptr) {
    window_->Record(variant, IsServerError(status.error_code()), seconds, absl::Now());
  }
  std::optional<ShadowComparison> shadow;
  if (status.ok()) shadow = ShadowComparison::Prepare(*start.serving, request, *response);
  // The event log line is formatted before the answer is sent (the
  // response may be the transport's afterwards) and appended after it.
  thread_local std::string served_line;
  const bool log_served = status.ok() && SampleServed();
  if (log_served) {
    absl::InlinedVector<absl::string_view, 16> product_ids;
    for (const auto& product : response->products()) product_ids.push_back(product.product_id());
    const ServedAnswer answer{.request_id = response->request_id(),
                              .model_version = response->model_version(),
                              .variant = variant,
                              .customer_id = request.customer_id(),
                              .product_ids = product_ids,
                              .strategy = strategy};
    FormatServedLine(answer, absl::ToUnixMillis(absl::Now()), served_line);
  }
  send(status);
  if (log_served) {
    event_log_->Append(served_line);
    metrics_->OnServedLogged();
  }
  if (shadow.has_value()) shadow->Run(*start.serving, *serving_metrics->shadow);
}

void RecommenderCalls::RecommendProductsBatch(const Start& start, const CallTransport& transport,
                                              const v1::RecommendProductsBatchRequest& request,
                                              v1::RecommendProductsBatchResponse* response, Send send) {
  grpc::Status status = start.status;
  if (status.ok() && request.requests_size() > kMaxBatchSize) {
    status = grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, absl::StrCat("requests has ", request.requests_size(),
                                                                          " entries; at most ", kMaxBatchSize,
                                                                          " per batch"));
  }
  if (status.ok()) {
    const ServingSetMetrics& serving_metrics = start.serving->attached<ServingSetMetrics>();
    for (const v1::RecommendProductsRequest& item : request.requests()) {
      // The caller gave up: stop working on the rest of the batch.
      if (auto expired = Expired(transport)) {
        status = *expired;
        break;
      }
      v1::BatchResult* result = response->add_results();
      const Variant variant = start.serving->RouteOf(item.customer_id());
      Strategy strategy;
      const grpc::Status item_status =
          Answer(start.serving->ModelFor(variant), variant, *serving_metrics.variants[static_cast<int>(variant)],
                 *request_ids_, item, result->mutable_response(), &strategy);
      if (item_status.ok()) {
        result->mutable_response()->set_variant(ToProto(variant));
      } else {
        result->clear_response();
        result->set_code(static_cast<int32_t>(item_status.error_code()));
        result->set_message(item_status.error_message());
      }
    }
  }
  if (!status.ok()) response->Clear();
  const double seconds = SecondsSince(transport.received);
  metrics_->RecordBatch(transport.protocol, status.error_code(), seconds);
  if (start.admitted && response->results_size() > 0) admission_->AddWork(seconds);
  send(status);
}

void RecommenderCalls::GetModelInfo(const Start& start, v1::GetModelInfoResponse* response, Send send) {
  if (start.status.ok()) {
    FillModelInfo(*start.serving->stable, Variant::kStable, response->add_models());
    if (start.serving->canary) FillModelInfo(*start.serving->canary, Variant::kCanary, response->add_models());
    for (const std::string& problem : *models_->RoutingProblems()) response->add_routing_problems(problem);
  }
  send(start.status);
}

void RecommenderCalls::ReportFeedback(const Start& start, const CallTransport& transport,
                                      const v1::ReportFeedbackRequest& request, v1::ReportFeedbackResponse* response,
                                      std::function<void(const grpc::Status&)> send) {
  auto finish = [this, send = std::move(send), protocol = transport.protocol,
                 received = transport.received](const grpc::Status& status) {
    metrics_->RecordFeedbackCall(protocol, status.error_code(), SecondsSince(received));
    send(status);
  };
  if (!start.status.ok()) {
    // Not recorded, so not acknowledged: the backend retries it later.
    finish(start.status);
    return;
  }
  if (feedback_ == nullptr) {
    finish(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        "this server runs without an event log (--event-log-dir), so it cannot record feedback"));
    return;
  }
  FeedbackInput input;
  switch (request.event()) {
    case v1::FEEDBACK_EVENT_IMPRESSION:
      input.event = FeedbackEvent::kImpression;
      break;
    case v1::FEEDBACK_EVENT_CLICK:
      input.event = FeedbackEvent::kClick;
      break;
    case v1::FEEDBACK_EVENT_CONVERSION:
      input.event = FeedbackEvent::kConversion;
      break;
    default:
      finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          absl::StrCat("event ", request.event(), " is not IMPRESSION (1), CLICK (2) or CONVERSION (3)")));
      return;
  }
  if (request.variant() != v1::VARIANT_STABLE && request.variant() != v1::VARIANT_CANARY) {
    finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        absl::StrCat("variant ", request.variant(),
                                     " is not STABLE (1) or CANARY (2): echo the variant of the answer")));
    return;
  }
  if (request.event_time_unix_ms() < 0) {
    finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "event_time_unix_ms is negative"));
    return;
  }
  input.variant = request.variant() == v1::VARIANT_CANARY ? Variant::kCanary : Variant::kStable;
  input.request_id = request.request_id();
  input.customer_id = request.customer_id();
  input.product_id = request.product_id();
  input.model_version = request.model_version();
  input.time_unix_ms = request.event_time_unix_ms();
  const FeedbackEvent event = input.event;
  const int64_t version = input.model_version;
  const Variant variant = input.variant;
  std::string product = request.product_id();
  feedback_->Record(input, [this, finish = std::move(finish), response, event, version, variant,
                            product = std::move(product)](absl::StatusOr<bool> result) {
    if (!result.ok()) {
      if (absl::IsUnavailable(result.status())) metrics_->OnEventLogError();
      finish(ToGrpcStatus(result.status()));
      return;
    }
    response->set_duplicate(*result);
    if (!*result) {
      metrics_->RecordFeedback(event, version, variant, product);
      metrics_->OnFeedbackLogged();
    }
    finish(grpc::Status::OK);
  });
}

}  // namespace easymoney
