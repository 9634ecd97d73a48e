#include "core/serving/feedback_recorder.h"

#include <algorithm>
#include <chrono>
#include <tuple>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace easymoney {
namespace {

// Ids longer than this are not ids a backend got from us (a request id
// grows with the answer's length: about 3 characters a product).
constexpr size_t kMaxIdLength = 128;
constexpr size_t kMaxRequestIdLength = 4096;

absl::Status CheckId(absl::string_view field, absl::string_view value, size_t max_length) {
  if (value.empty()) return absl::InvalidArgumentError(absl::StrCat(field, " is empty"));
  if (value.size() > max_length) {
    return absl::InvalidArgumentError(absl::StrCat(field, " is ", value.size(), " bytes long; at most ", max_length));
  }
  return absl::OkStatus();
}

std::string FormatTime(int64_t unix_ms) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixMillis(unix_ms), absl::UTCTimeZone());
}

}  // namespace

const char* FeedbackEventName(FeedbackEvent event) {
  switch (event) {
    case FeedbackEvent::kImpression:
      return "impression";
    case FeedbackEvent::kClick:
      return "click";
    case FeedbackEvent::kConversion:
      return "conversion";
  }
  return "unknown";
}

const char* FeedbackRefusalName(FeedbackRefusal refusal) {
  switch (refusal) {
    case FeedbackRefusal::kNotIssued:
      return "not_issued";
    case FeedbackRefusal::kNotInAnswer:
      return "not_in_answer";
    case FeedbackRefusal::kOutsideWindow:
      return "outside_window";
  }
  return "unknown";
}

FeedbackRecorder::FeedbackRecorder(EventLog* log, const RequestIdSigner* request_ids, Options options)
    : log_(log), request_ids_(request_ids), options_(options) {}

std::string FeedbackRecorder::Key(absl::string_view request_id, absl::string_view event,
                                  absl::string_view product_id) {
  return absl::StrCat(request_id, "\x1f", event, "\x1f", product_id);
}

bool FeedbackRecorder::SeenLocked(const std::string& key) const {
  return current_.contains(key) || previous_.contains(key);
}

void FeedbackRecorder::RememberLocked(std::string key) {
  if (current_.size() >= options_.dedup_capacity) {
    previous_ = std::move(current_);
    current_ = {};
  }
  current_.insert(std::move(key));
}

absl::StatusOr<int64_t> FeedbackRecorder::LoadHistory() {
  int64_t feedback = 0;
  absl::MutexLock lock(&mu_);
  auto stats = ReadEventLog(log_->directory(), [&](const easymoney::model::v1::EventRecord& record) {
    if (record.kind() != "feedback") return;
    ++feedback;
    RememberLocked(Key(record.request_id(), record.event(), record.product_id()));
  });
  if (!stats.ok()) return stats.status();
  return feedback;
}

void FeedbackRecorder::AddVersion(const Model& model) {
  absl::MutexLock lock(&mu_);
  auto& products = catalogues_[model.version()];
  if (!products.empty()) return;
  for (int p = 0; p < model.num_products(); ++p) products.emplace(model.product(p).id(), p);
}

absl::Status FeedbackRecorder::Refuse(FeedbackRefusal refusal, absl::Status status) {
  refused_[static_cast<int>(refusal)].fetch_add(1, std::memory_order_relaxed);
  return status;
}

absl::Status FeedbackRecorder::CheckAgainstAnswer(const FeedbackInput& input) {
  absl::StatusOr<AnswerClaim> answer = request_ids_->Verify(input.request_id, input.customer_id);
  if (!answer.ok()) return Refuse(FeedbackRefusal::kNotIssued, answer.status());
  if (answer->model_version != input.model_version || answer->variant != input.variant) {
    return Refuse(FeedbackRefusal::kNotInAnswer,
                  absl::InvalidArgumentError(absl::StrCat(
                      "model_version ", input.model_version, " and variant ",
                      input.variant == Variant::kCanary ? "CANARY" : "STABLE", " are not the answer's (version ",
                      answer->model_version, ", ", answer->variant == Variant::kCanary ? "CANARY" : "STABLE", ")")));
  }
  {
    absl::MutexLock lock(&mu_);
    const auto catalogue = catalogues_.find(input.model_version);
    if (catalogue == catalogues_.end()) {
      return Refuse(FeedbackRefusal::kNotInAnswer,
                    absl::InvalidArgumentError(absl::StrCat("model_version ", input.model_version,
                                                            " has not served on this server")));
    }
    const auto product = catalogue->second.find(input.product_id);
    if (product == catalogue->second.end() ||
        std::find(answer->product_indices.begin(), answer->product_indices.end(), product->second) ==
            answer->product_indices.end()) {
      return Refuse(FeedbackRefusal::kNotInAnswer,
                    absl::InvalidArgumentError(absl::StrCat("product_id '", absl::CHexEscape(input.product_id),
                                                            "' was not in the answer this request_id names")));
    }
  }
  const int64_t now_ms = absl::ToUnixMillis(absl::Now());
  const int64_t skew_ms = absl::ToInt64Milliseconds(options_.clock_skew);
  if (answer->served_unix_ms < now_ms - absl::ToInt64Milliseconds(options_.window)) {
    return Refuse(FeedbackRefusal::kOutsideWindow,
                  absl::InvalidArgumentError(absl::StrCat("the answer was served at ", FormatTime(answer->served_unix_ms),
                                                          ", longer ago than the feedback window of ",
                                                          absl::FormatDuration(options_.window))));
  }
  if (input.time_unix_ms != 0 &&
      (input.time_unix_ms < answer->served_unix_ms - skew_ms || input.time_unix_ms > now_ms + skew_ms)) {
    return Refuse(FeedbackRefusal::kOutsideWindow,
                  absl::InvalidArgumentError(absl::StrCat(
                      "event_time_unix_ms ", input.time_unix_ms, " (", FormatTime(input.time_unix_ms),
                      ") is not between the answer (", FormatTime(answer->served_unix_ms), ") and now")));
  }
  return absl::OkStatus();
}

void FeedbackRecorder::Record(const FeedbackInput& input, Done done) {
  for (const auto& [field, value, max_length] :
       {std::tuple<const char*, absl::string_view, size_t>{"request_id", input.request_id, kMaxRequestIdLength},
        {"customer_id", input.customer_id, kMaxIdLength},
        {"product_id", input.product_id, kMaxIdLength}}) {
    if (auto status = CheckId(field, value, max_length); !status.ok()) return std::move(done)(status);
  }
  if (auto status = CheckAgainstAnswer(input); !status.ok()) return std::move(done)(status);
  const char* event = FeedbackEventName(input.event);
  std::string key = Key(input.request_id, event, input.product_id);
  {
    absl::MutexLock lock(&mu_);
    if (SeenLocked(key)) return std::move(done)(true);
    if (!in_flight_.insert(key).second) {
      return std::move(done)(absl::AbortedError("the same event is being recorded right now; retry"));
    }
  }
  easymoney::model::v1::EventRecord record;
  record.set_kind("feedback");
  record.set_time_unix_ms(input.time_unix_ms > 0
                              ? input.time_unix_ms
                              : std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count());
  record.set_request_id(std::string(input.request_id));
  record.set_model_version(input.model_version);
  record.set_variant(input.variant == Variant::kCanary ? "canary" : "stable");
  record.set_customer_id(std::string(input.customer_id));
  record.set_product_id(std::string(input.product_id));
  record.set_event(event);
  log_->Append(FormatEventRecord(record),
               [this, key = std::move(key), done = std::move(done)](absl::Status status) mutable {
                 {
                   absl::MutexLock lock(&mu_);
                   in_flight_.erase(key);
                   if (status.ok()) RememberLocked(std::move(key));
                 }
                 if (status.ok()) {
                   std::move(done)(false);
                 } else {
                   std::move(done)(status);
                 }
               });
}

}  // namespace easymoney
