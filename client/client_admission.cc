#include "client/client_admission.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "core/shed_advice.h"

namespace easymoney {

namespace {

constexpr double kRecentWeight = 0.2;

}  // namespace

ClientAdmission::ClientAdmission(const Options& options)
    : options_(options),
      throttle_(options.adaptive_throttle > 0
                    ? std::make_unique<AdaptiveThrottle>(AdaptiveThrottle::Options{
                          .accepts_multiplier = options.adaptive_throttle, .window = options.adaptive_throttle_window})
                    : nullptr) {}

double ClientAdmission::advised_share(absl::Time now) const {
  absl::MutexLock lock(&mu_);
  return AdvisedShareLocked(now);
}

double ClientAdmission::AdvisedShareLocked(absl::Time now) const {
  if (!options_.follow_shed_advice) return 0;
  return now - advice_time_ <= options_.advice_lifetime ? advice_ : 0;
}

ClientAdmission::Decision ClientAdmission::Decide(absl::Time now, double draw) {
  Decision decision;
  double advised = 0;
  {
    absl::MutexLock lock(&mu_);
    advised = AdvisedShareLocked(now);
    if (advised > 0) decision.queue_delay = QueueDelayLocked(now);
  }
  const double throttled = throttle_ != nullptr ? throttle_->Request(now) : 0;
  // Independent reasons: a call gets through both with (1 - a)(1 - p).
  decision.refusal_probability = 1 - (1 - advised) * (1 - throttled);
  if (draw < advised) {
    decision.send = false;
    decision.refused_by = Refuser::kShedAdvice;
    decision.refusal = absl::ResourceExhaustedError(
        absl::StrCat("refused by the client: the server advised refusing ", std::lround(advised * 100),
                     "% of calls while its CPU is saturated; retry with backoff"));
  } else if (draw < decision.refusal_probability) {
    decision.send = false;
    decision.refused_by = Refuser::kAdaptiveThrottle;
    decision.refusal = absl::ResourceExhaustedError(
        "refused by the client: the server has been refusing calls for overload (adaptive throttling); "
        "retry with backoff");
  }
  return decision;
}

void ClientAdmission::Prepare(const Decision& decision, grpc::ClientContext& context) {
  if (decision.queue_delay.has_value()) context.AddMetadata(kClientDelayKey, FormatDelay(*decision.queue_delay));
  if (decision.refusal_probability <= 0) return;
  const std::string reported = FormatShare(decision.refusal_probability);
  if (reported != "0") context.AddMetadata(kClientRefusedKey, reported);
}

std::optional<double> ClientAdmission::queue_delay(absl::Time now) const {
  absl::MutexLock lock(&mu_);
  return QueueDelayLocked(now);
}

std::optional<double> ClientAdmission::QueueDelayLocked(absl::Time now) const {
  if (!recent_round_trip_.has_value() || now - last_timed_ > options_.delay_lifetime) return std::nullopt;
  const double fastest = fastest_before_ > 0 ? std::min(fastest_now_, fastest_before_) : fastest_now_;
  return std::max(0.0, *recent_round_trip_ - fastest);
}

void ClientAdmission::RecordRoundTrip(absl::Time now, absl::Duration round_trip) {
  const double seconds = absl::ToDoubleSeconds(round_trip);
  if (!(seconds > 0)) return;
  const bool fresh = recent_round_trip_.has_value() && now - last_timed_ <= options_.delay_lifetime;
  recent_round_trip_ = fresh ? *recent_round_trip_ + kRecentWeight * (seconds - *recent_round_trip_) : seconds;
  last_timed_ = now;
  if (now - fastest_since_ >= options_.fastest_window) {
    // A window with no answer at all leaves nothing to carry over.
    fastest_before_ = now - fastest_since_ < 2 * options_.fastest_window ? fastest_now_ : 0;
    fastest_now_ = seconds;
    fastest_since_ = now;
  } else {
    fastest_now_ = std::min(fastest_now_, seconds);
  }
}

void ClientAdmission::OnDone(absl::Time now, const grpc::ClientContext& context, const grpc::Status& status,
                             absl::Duration round_trip) {
  if (throttle_ != nullptr) throttle_->Record(now, status.error_code() != grpc::StatusCode::RESOURCE_EXHAUSTED);
  if (!options_.follow_shed_advice) return;
  if (status.ok()) {
    // Only answers: a refusal skips the work and would read as fast.
    absl::MutexLock lock(&mu_);
    RecordRoundTrip(now, round_trip);
  }
  const auto& trailers = context.GetServerTrailingMetadata();
  const auto entry = trailers.find(kShedAdviceKey);
  std::optional<double> advice;
  if (entry != trailers.end()) {
    advice = ParseShare(absl::string_view(entry->second.data(), entry->second.size()));
  } else if (status.ok()) {
    advice = 0;  // Answered without advice: the server wants everything.
  }
  // Otherwise (a failure that may not have come from the server, such as a
  // deadline that expired on the way) the advice stands.
  if (!advice.has_value()) return;
  absl::MutexLock lock(&mu_);
  advice_ = *advice;
  advice_time_ = now;
}

}  // namespace easymoney
