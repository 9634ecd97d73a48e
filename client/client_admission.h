#ifndef EASYMONEY_CLIENT_CLIENT_ADMISSION_H_
#define EASYMONEY_CLIENT_CLIENT_ADMISSION_H_

// What a client decides before it sends a Recommender call, and what it
// learns from the answer. Two reasons to refuse a call locally, so that the
// refusal costs the server nothing:
//   - the server's shed advice (core/shed_advice.h): while its CPU is
//     saturated the server names the share of calls its clients should
//     refuse themselves, on the trailing metadata of every answer;
//   - the client's own adaptive throttle (adaptive_throttle.h), which needs
//     nothing from the server but only reacts to refusals it has already
//     paid for.
// A call that is sent reports the probability with which calls were being
// refused locally (x-easymoney-client-refused), so the server can count the
// demand its clients hold back, and, while advice is in force, how long this
// client's recent answers took beyond its fastest (x-easymoney-client-delay-ms):
// the time its calls wait in a queue the server cannot see, which the server
// sizes the advice on.
//
//   ClientAdmission admission({.follow_shed_advice = true});
//   const ClientAdmission::Decision decision = admission.Decide(absl::Now(), draw);
//   if (!decision.send) return decision.refusal;  // RESOURCE_EXHAUSTED, never sent
//   ClientAdmission::Prepare(decision, context);
//   const grpc::Status status = stub->RecommendProducts(&context, request, &response);
//   admission.OnDone(absl::Now(), context, status, round_trip);
//
// One ClientAdmission per channel: with several servers behind one channel
// (round robin) the advice followed is the latest any of them sent.
// Thread-safe.

#include <memory>
#include <optional>

#include <grpcpp/client_context.h>
#include <grpcpp/support/status.h>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/adaptive_throttle.h"

namespace easymoney {

class ClientAdmission {
 public:
  struct Options {
    // Refuse the share of calls the server advises.
    bool follow_shed_advice = true;
    // Advice that no answer has renewed for this long is dropped: the
    // server that sent it may be gone, or its answers no longer arriving.
    absl::Duration advice_lifetime = absl::Seconds(2);
    // K of the adaptive throttle; 0 turns it off.
    double adaptive_throttle = 0;
    absl::Duration adaptive_throttle_window = absl::Seconds(10);
    // The fastest answer is the least round trip seen over the last one to
    // two of these: long enough to include a moment without a queue (the
    // server's advice drains it every second or so), short enough to follow
    // a move to a farther server.
    absl::Duration fastest_window = absl::Seconds(10);
    // An average no answer has renewed for this long is not reported (a
    // client with few calls would otherwise report a queue long drained),
    // and the next answer starts it afresh.
    absl::Duration delay_lifetime = absl::Seconds(1);
  };

  enum class Refuser { kNone, kShedAdvice, kAdaptiveThrottle };
  struct Decision {
    bool send = true;
    // With what probability calls are refused locally at this moment, over
    // both reasons (what the sent call reports).
    double refusal_probability = 0;
    Refuser refused_by = Refuser::kNone;
    // RESOURCE_EXHAUSTED saying which reason refused, when !send.
    absl::Status refusal;
    // The queueing delay the sent call reports, in seconds: set while
    // advice is in force and answers have been timed.
    std::optional<double> queue_delay;
  };

  explicit ClientAdmission(const Options& options);

  // Whether there is anything to decide (advice followed or a throttle).
  bool enabled() const { return options_.follow_shed_advice || throttle_ != nullptr; }

  // `draw` is uniform in [0, 1).
  Decision Decide(absl::Time now, double draw) ABSL_LOCKS_EXCLUDED(mu_);
  // Adds the refusal and delay reports to a call about to be sent.
  static void Prepare(const Decision& decision, grpc::ClientContext& context);
  // After the call completed, `round_trip` after it was sent: the advice on
  // its trailing metadata (an OK answer without any withdraws it), the
  // throttle's verdict, and (OK answers only) the round trip for the delay
  // estimate.
  void OnDone(absl::Time now, const grpc::ClientContext& context, const grpc::Status& status,
              absl::Duration round_trip) ABSL_LOCKS_EXCLUDED(mu_);

  // The advice in force (0 when none, expired, or not followed).
  double advised_share(absl::Time now) const ABSL_LOCKS_EXCLUDED(mu_);

  // The recent OK answers' round trip beyond the fastest one, in seconds;
  // nullopt before any answer was timed or when the last one is older than
  // delay_lifetime.
  std::optional<double> queue_delay(absl::Time now) const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  double AdvisedShareLocked(absl::Time now) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RecordRoundTrip(absl::Time now, absl::Duration round_trip) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::optional<double> QueueDelayLocked(absl::Time now) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Options options_;
  const std::unique_ptr<AdaptiveThrottle> throttle_;  // Null: off.
  mutable absl::Mutex mu_;
  double advice_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time advice_time_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  // Recent round trip: an average over the last few answers (weight
  // kRecentWeight each), since single answers scatter by scheduling.
  std::optional<double> recent_round_trip_ ABSL_GUARDED_BY(mu_);
  absl::Time last_timed_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  // Fastest round trip in the current and the previous fastest_window.
  double fastest_now_ ABSL_GUARDED_BY(mu_) = 0;
  double fastest_before_ ABSL_GUARDED_BY(mu_) = 0;  // 0: none.
  absl::Time fastest_since_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

}  // namespace easymoney

#endif  // EASYMONEY_CLIENT_CLIENT_ADMISSION_H_
