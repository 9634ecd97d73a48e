#include "core/serving/feedback_recorder.h"

#include <chrono>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace easymoney {
namespace {

// Ids longer than this are not ids a backend got from us.
constexpr size_t kMaxIdLength = 128;

absl::Status CheckId(absl::string_view field, absl::string_view value) {
  if (value.empty()) return absl::InvalidArgumentError(absl::StrCat(field, " is empty"));
  if (value.size() > kMaxIdLength) {
    return absl::InvalidArgumentError(absl::StrCat(field, " is ", value.size(), " bytes long; at most ", kMaxIdLength));
  }
  return absl::OkStatus();
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

FeedbackRecorder::FeedbackRecorder(EventLog* log, size_t dedup_capacity)
    : log_(log), dedup_capacity_(dedup_capacity) {}

std::string FeedbackRecorder::Key(absl::string_view request_id, absl::string_view event,
                                  absl::string_view product_id) {
  return absl::StrCat(request_id, "\x1f", event, "\x1f", product_id);
}

bool FeedbackRecorder::SeenLocked(const std::string& key) const {
  return current_.contains(key) || previous_.contains(key);
}

void FeedbackRecorder::RememberLocked(std::string key) {
  if (current_.size() >= dedup_capacity_) {
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
  for (int p = 0; p < model.num_products(); ++p) products.insert(model.product(p).id());
}

void FeedbackRecorder::Record(const FeedbackInput& input, Done done) {
  for (const auto& [field, value] : {std::pair<const char*, absl::string_view>{"request_id", input.request_id},
                                     {"customer_id", input.customer_id},
                                     {"product_id", input.product_id}}) {
    if (auto status = CheckId(field, value); !status.ok()) return std::move(done)(status);
  }
  const char* event = FeedbackEventName(input.event);
  std::string key = Key(input.request_id, event, input.product_id);
  {
    absl::MutexLock lock(&mu_);
    const auto catalogue = catalogues_.find(input.model_version);
    if (catalogue == catalogues_.end()) {
      return std::move(done)(absl::InvalidArgumentError(
          absl::StrCat("model_version ", input.model_version, " has not served on this server")));
    }
    if (!catalogue->second.contains(input.product_id)) {
      return std::move(done)(absl::InvalidArgumentError(
          absl::StrCat("product_id '", absl::CHexEscape(input.product_id), "' is not in version ",
                       input.model_version, "'s catalogue")));
    }
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
