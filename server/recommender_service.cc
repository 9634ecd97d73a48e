#include "server/recommender_service.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <limits>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "core/recommender.h"
#include "core/shed_advice.h"
#include "server/query_conversion.h"
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

// Scores the request with the shadow version and records how much of the
// served answer it reproduces. Runs after the response is sent.
// Appends `text` as a JSON string literal.
void AppendJsonString(std::string& out, absl::string_view text) {
  out.push_back('"');
  for (char c : text) {
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          absl::StrAppendFormat(&out, "\\u%04x", static_cast<unsigned char>(c));
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

const char* StrategyName(v1::Strategy strategy) {
  switch (strategy) {
    case v1::STRATEGY_POPULAR:
      return "popular";
    case v1::STRATEGY_FOLD_IN:
      return "fold_in";
    case v1::STRATEGY_CLUSTER:
      return "cluster";
    default:
      return "personalised";
  }
}

// The event-log line of one served answer (an EventRecord in protobuf's JSON
// mapping, as FormatEventRecord would print it), formatted by hand into a
// reused buffer: this runs for every logged answer, and protobuf's JSON
// printer costs several microseconds and allocations per call.
void FormatServedLine(int64_t version, Variant variant, const std::string& customer_id,
                      const v1::RecommendProductsResponse& response, std::string& out) {
  out.clear();
  const int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  absl::StrAppend(&out, R"({"kind":"served","time_unix_ms":")", now_ms, R"(","request_id":)");
  AppendJsonString(out, response.request_id());
  absl::StrAppend(&out, R"(,"model_version":")", version, R"(","variant":")",
                  variant == Variant::kCanary ? "canary" : "stable", R"(","customer_id":)");
  AppendJsonString(out, customer_id);
  if (response.products_size() > 0) {
    out.append(R"(,"products":[)");
    for (int i = 0; i < response.products_size(); ++i) {
      if (i > 0) out.push_back(',');
      AppendJsonString(out, response.products(i).product_id());
    }
    out.push_back(']');
  }
  absl::StrAppend(&out, R"(,"strategy":")", StrategyName(response.strategy()), "\"}");
}

void CompareWithShadow(const ServingState& state, const v1::RecommendProductsRequest& request,
                       const std::vector<std::string>& served) {
  absl::StatusOr<Recommendation> shadow = Recommend(*state.serving->shadow, QueryOf(request));
  state.shadow_metrics->requests->Increment();
  if (!shadow.ok() || served.empty()) return;
  int common = 0;
  for (const ScoredIndex& scored : shadow->products) {
    const std::string& id = state.serving->shadow->product(scored.index).id();
    common += std::find(served.begin(), served.end(), id) != served.end();
  }
  state.shadow_metrics->overlap->Observe(static_cast<double>(common) / static_cast<double>(served.size()));
}

// Per-thread generator of request ids and sampling draws: no lock, no
// allocation.
std::mt19937_64& ThreadRandom() {
  thread_local std::mt19937_64 random(std::random_device{}() ^
                                      (static_cast<uint64_t>(std::hash<std::thread::id>{}(std::this_thread::get_id()))
                                       << 1));
  return random;
}

// 15 hex digits (60 random bits): unique enough to join feedback to answers,
// and short enough for std::string's inline buffer.
void SetRequestId(v1::RecommendProductsResponse* response) {
  char id[16];
  absl::SNPrintF(id, sizeof(id), "%015x", ThreadRandom()() >> 4);
  response->set_request_id(id, 15);
}

grpc::Status Answer(const Model& model, const VersionMetrics& metrics, const v1::RecommendProductsRequest& request,
                    v1::RecommendProductsResponse* response) {
  absl::StatusOr<Recommendation> result = Recommend(model, QueryOf(request));
  if (!result.ok()) return ToGrpcStatus(result.status());
  SetRequestId(response);
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

// A request whose deadline has passed or that was cancelled gets no work.
std::optional<grpc::Status> Expired(grpc::CallbackServerContext* context) {
  // The deadline first: gRPC also cancels a call whose deadline passed.
  if (context->deadline() < std::chrono::system_clock::now()) {
    return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "the deadline passed before the request was served");
  }
  if (context->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "the call was cancelled");
  return std::nullopt;
}

void FillModelInfo(const Model& model, Variant variant, v1::ServingModelInfo* info) {
  const auto& manifest = model.manifest();
  info->set_version(model.version());
  info->set_variant(variant == Variant::kCanary ? v1::VARIANT_CANARY : v1::VARIANT_STABLE);
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

// A unary reactor that keeps the service's in-flight count: a call counts
// from its handler's start until gRPC has sent its response (OnDone), so
// responses queued behind a saturated transport count too.
class CountedReactor final : public grpc::ServerUnaryReactor {
 public:
  explicit CountedReactor(std::atomic<int64_t>* in_flight) : in_flight_(in_flight) {}
  void OnDone() override {
    in_flight_->fetch_sub(1, std::memory_order_relaxed);
    delete this;
  }
  // gRPC runs OnDone of a reactor that is not "inlineable" on its executor
  // threads: a thread hop and a futex wake-up per call, which at saturation
  // cost more than the handler's own work (perf: 12 points more of the CPU in
  // gRPC's default-executor threads than the floor server, whose
  // DefaultReactor is inlineable). Both reactions here are trivial and never
  // block, the condition gRPC states for the hook (grpcpp/support/
  // server_callback.h); it is marked "not API", so `override` makes a gRPC
  // that drops it fail to build rather than quietly hop threads again.
  bool InternalInlineable() override { return true; }

 private:
  std::atomic<int64_t>* const in_flight_;
};

}  // namespace

bool RecommenderService::Overloaded(int64_t running) {
  if (running < max_in_flight_) {
    if (over_limit_since_ns_.load(std::memory_order_relaxed) != 0) {
      over_limit_since_ns_.store(0, std::memory_order_relaxed);
    }
    return false;
  }
  // A burst (the backlog of a scheduling stall, a page of calls arriving at
  // once) drains by itself; a count that stays at the limit is a standing
  // queue, and only that is shed (CoDel's distinction).
  const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
  int64_t since = over_limit_since_ns_.load(std::memory_order_relaxed);
  if (since == 0 && over_limit_since_ns_.compare_exchange_strong(since, now, std::memory_order_relaxed)) since = now;
  return now - since >= overload_grace_ns_;
}

void RecommenderService::CountClientReports(const grpc::CallbackServerContext& context) {
  const auto& metadata = context.client_metadata();
  // Nonsense is ignored, and the parsers' caps bound what one call can
  // claim for its client.
  if (const auto reported = metadata.find(kClientRefusedKey); reported != metadata.end()) {
    const std::optional<double> refused =
        ParseShare(absl::string_view(reported->second.data(), reported->second.size()));
    if (refused.has_value() && *refused > 0) {
      client_refused_micros_.fetch_add(std::llround((DemandWeight(*refused) - 1) * 1e6), std::memory_order_relaxed);
    }
  }
  if (const auto reported = metadata.find(kClientDelayKey); reported != metadata.end()) {
    const std::optional<double> delay =
        ParseDelay(absl::string_view(reported->second.data(), reported->second.size()));
    if (delay.has_value()) {
      client_delay_micros_.fetch_add(std::llround(*delay * 1e6), std::memory_order_relaxed);
      client_delay_reports_.fetch_add(1, std::memory_order_relaxed);
      if (*delay > cpu_shed_->queue_delay_target()) client_delayed_reports_.fetch_add(1, std::memory_order_relaxed);
      if (*delay > cpu_shed_->shed_queue_delay()) {
        client_long_delayed_reports_.fetch_add(1, std::memory_order_relaxed);
      }
    }
  }
}

grpc::ServerUnaryReactor* RecommenderService::StartCall(grpc::CallbackServerContext* context,
                                                        grpc::Status& admission) {
  admission = authorizer_->Check(*context, Role::kRecommend);
  if (!admission.ok()) return context->DefaultReactor();
  if (cpu_shed_ != nullptr) {
    calls_checked_.fetch_add(1, std::memory_order_relaxed);
    const double advice = cpu_shed_->advised_share();
    // The reports matter only while the controller is refusing or advising
    // (outside that it does not look at the demand), and reading them costs
    // every call: gRPC builds the client metadata's multimap on first access
    // (0.4-0.6 us of CPU a call, 3% of the 15-product catalogue's answers).
    if (advice > 0 || cpu_shed_->shed_share() > 0) CountClientReports(*context);
    // On every answer, refused or not, so a client hears it from whichever
    // call comes back first.
    if (advice > 0) context->AddTrailingMetadata(kShedAdviceKey, FormatShare(advice));
    if (cpu_shed_->ShouldShed(static_cast<uint32_t>(ThreadRandom()()))) {
      metrics_->OnShed();
      admission = grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                               absl::StrCat("overloaded: the server's CPU is saturated, refusing ",
                                            static_cast<int>(cpu_shed_->shed_share() * 100 + 0.5),
                                            "% of calls; retry with backoff"));
      return context->DefaultReactor();
    }
  }
  const int64_t running = in_flight_.fetch_add(1, std::memory_order_relaxed);
  if (max_in_flight_ > 0 && Overloaded(running)) {
    // Shedding before any work: a refusal that costs microseconds keeps the
    // calls already admitted fast, where queueing all of them would make
    // every one slow. A refused call does not hold a slot while its answer
    // waits to be sent: if it did, a backlog of refusals would keep refusing
    // everything.
    in_flight_.fetch_sub(1, std::memory_order_relaxed);
    metrics_->OnShed();
    admission = grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                             absl::StrCat("overloaded: ", running, " calls in flight (limit ", max_in_flight_,
                                          "); retry with backoff"));
    return context->DefaultReactor();
  }
  // Counted here, past both refusals: the calls whose work work_nanos_ sums.
  if (cpu_shed_ != nullptr) calls_admitted_.fetch_add(1, std::memory_order_relaxed);
  return new CountedReactor(&in_flight_);
}

grpc::ServerUnaryReactor* RecommenderService::RecommendProductsBatch(grpc::CallbackServerContext* context,
                                                                     const v1::RecommendProductsBatchRequest* request,
                                                                     v1::RecommendProductsBatchResponse* response) {
  const auto start = std::chrono::steady_clock::now();
  grpc::Status status;
  grpc::ServerUnaryReactor* reactor = StartCall(context, status);
  const std::shared_ptr<const ServingState> state = state_.load(std::memory_order_acquire);
  if (!status.ok()) {
    // Refused: authentication or overload.
  } else if (auto expired = Expired(context)) {
    status = *expired;
  } else if (state == nullptr) {
    status = grpc::Status(grpc::StatusCode::UNAVAILABLE, "no model version is loaded yet");
  } else if (request->requests_size() > kMaxBatchSize) {
    status = grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "requests has " + std::to_string(request->requests_size()) + " entries; at most " +
                              std::to_string(kMaxBatchSize) + " per batch");
  } else {
    for (const v1::RecommendProductsRequest& item : request->requests()) {
      // The caller gave up: stop working on the rest of the batch.
      if (auto expired = Expired(context)) {
        status = *expired;
        break;
      }
      v1::BatchResult* result = response->add_results();
      const Variant variant = state->serving->RouteOf(item.customer_id());
      const grpc::Status item_status = Answer(state->serving->ModelFor(variant),
                                              *state->metrics[static_cast<int>(variant)], item,
                                              result->mutable_response());
      if (item_status.ok()) {
        result->mutable_response()->set_variant(variant == Variant::kCanary ? v1::VARIANT_CANARY
                                                                            : v1::VARIANT_STABLE);
      } else {
        result->clear_response();
        result->set_code(static_cast<int32_t>(item_status.error_code()));
        result->set_message(item_status.error_message());
      }
    }
  }
  if (!status.ok()) response->Clear();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  metrics_->RecordBatch(status.error_code(), seconds);
  if (cpu_shed_ != nullptr && response->results_size() > 0) {
    work_nanos_.fetch_add(static_cast<int64_t>(seconds * 1e9), std::memory_order_relaxed);
  }
  reactor->Finish(status);
  return reactor;
}

grpc::ServerUnaryReactor* RecommenderService::GetModelInfo(grpc::CallbackServerContext* context,
                                                           const v1::GetModelInfoRequest*,
                                                           v1::GetModelInfoResponse* response) {
  grpc::Status status;
  grpc::ServerUnaryReactor* reactor = StartCall(context, status);
  const std::shared_ptr<const ServingState> state = state_.load(std::memory_order_acquire);
  if (!status.ok()) {
    // Refused: authentication or overload.
  } else if (state == nullptr) {
    status = grpc::Status(grpc::StatusCode::UNAVAILABLE, "no model version is loaded yet");
  } else {
    FillModelInfo(*state->serving->stable, Variant::kStable, response->add_models());
    if (state->serving->canary) FillModelInfo(*state->serving->canary, Variant::kCanary, response->add_models());
  }
  reactor->Finish(status);
  return reactor;
}

grpc::ServerUnaryReactor* RecommenderService::RecommendProducts(
    grpc::CallbackServerContext* context, const v1::RecommendProductsRequest* request,
    v1::RecommendProductsResponse* response) {
  const auto start = std::chrono::steady_clock::now();
  grpc::Status status;
  grpc::ServerUnaryReactor* reactor = StartCall(context, status);
  // One snapshot for the whole request: a swap mid-request cannot mix
  // versions, and the models stay alive until this reference is dropped.
  const std::shared_ptr<const ServingState> state = state_.load(std::memory_order_acquire);
  const VersionMetrics* metrics = &metrics_->without_model();
  Variant variant = Variant::kStable;
  const bool admitted = status.ok();
  if (!admitted) {
    // Refused before any work (authentication or overload): counted under
    // version "none", not under the version that would have answered.
  } else if (auto expired = Expired(context)) {
    status = *expired;
  } else if (state == nullptr) {
    status = grpc::Status(grpc::StatusCode::UNAVAILABLE, "no model version is loaded yet");
  } else {
    variant = state->serving->RouteOf(request->customer_id());
    metrics = state->metrics[static_cast<int>(variant)].get();
    status = Answer(state->serving->ModelFor(variant), *metrics, *request, response);
    if (status.ok()) {
      response->set_variant(variant == Variant::kCanary ? v1::VARIANT_CANARY : v1::VARIANT_STABLE);
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  metrics->RecordRequest(status.error_code(), seconds);
  if (admitted && cpu_shed_ != nullptr) {
    work_nanos_.fetch_add(static_cast<int64_t>(seconds * 1e9), std::memory_order_relaxed);
  }
  if (admitted && state != nullptr && state->serving->canary && window_ != nullptr) {
    window_->Record(variant, IsServerError(status.error_code()), seconds,
                    absl::Now());
  }
  // Shadow scoring happens after the answer is sent, on copies: the request
  // and response belong to gRPC once Finish is called.
  std::optional<v1::RecommendProductsRequest> shadow_request;
  std::vector<std::string> served;
  if (status.ok() && state != nullptr && state->serving->Shadows(request->customer_id())) {
    shadow_request = *request;
    for (const auto& product : response->products()) served.push_back(product.product_id());
  }
  // The event log record is built before Finish (the response is gRPC's
  // afterwards) but appended after it.
  thread_local std::string served_line;
  const bool log_served = status.ok() && event_log_ != nullptr && served_log_threshold_ != 0 &&
                          ThreadRandom()() <= served_log_threshold_;
  if (log_served) FormatServedLine(response->model_version(), variant, request->customer_id(), *response, served_line);
  reactor->Finish(status);
  if (log_served) {
    event_log_->Append(served_line);
    metrics_->OnServedLogged();
  }
  if (shadow_request.has_value()) CompareWithShadow(*state, *shadow_request, served);
  return reactor;
}

uint64_t RecommenderService::SampleThreshold(double share) {
  if (!(share > 0)) return 0;
  if (share >= 1) return std::numeric_limits<uint64_t>::max();
  return static_cast<uint64_t>(share * 18446744073709551615.0);
}

grpc::ServerUnaryReactor* RecommenderService::ReportFeedback(grpc::CallbackServerContext* context,
                                                             const v1::ReportFeedbackRequest* request,
                                                             v1::ReportFeedbackResponse* response) {
  const auto start = std::chrono::steady_clock::now();
  grpc::Status admission;
  grpc::ServerUnaryReactor* reactor = StartCall(context, admission);
  auto finish = [this, reactor, start](const grpc::Status& status) {
    metrics_->RecordFeedbackCall(status.error_code(),
                                 std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    reactor->Finish(status);
  };
  if (!admission.ok()) {
    // Not recorded, so not acknowledged: the backend retries it later.
    finish(admission);
    return reactor;
  }
  if (feedback_ == nullptr) {
    finish(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        "this server runs without an event log (--event-log-dir), so it cannot record feedback"));
    return reactor;
  }
  FeedbackInput input;
  switch (request->event()) {
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
                          "event " + std::to_string(request->event()) +
                              " is not IMPRESSION (1), CLICK (2) or CONVERSION (3)"));
      return reactor;
  }
  if (request->variant() != v1::VARIANT_STABLE && request->variant() != v1::VARIANT_CANARY) {
    finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "variant " + std::to_string(request->variant()) +
                            " is not STABLE (1) or CANARY (2): echo the variant of the answer"));
    return reactor;
  }
  if (request->event_time_unix_ms() < 0) {
    finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "event_time_unix_ms is negative"));
    return reactor;
  }
  input.variant = request->variant() == v1::VARIANT_CANARY ? Variant::kCanary : Variant::kStable;
  input.request_id = request->request_id();
  input.customer_id = request->customer_id();
  input.product_id = request->product_id();
  input.model_version = request->model_version();
  input.time_unix_ms = request->event_time_unix_ms();
  const FeedbackEvent event = input.event;
  const int64_t version = input.model_version;
  const Variant variant = input.variant;
  std::string product = request->product_id();
  feedback_->Record(input, [this, finish, response, event, version, variant,
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
  return reactor;
}

}  // namespace easymoney
