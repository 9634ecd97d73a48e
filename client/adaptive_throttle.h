#ifndef EASYMONEY_CLIENT_ADAPTIVE_THROTTLE_H_
#define EASYMONEY_CLIENT_ADAPTIVE_THROTTLE_H_

// Client-side adaptive throttling (the SRE book's "Handling Overload"): a
// client that sees the server refuse calls for overload refuses a share of
// its own calls locally, before they cost the server anything. A refusal
// the server sends still costs it the RPC's own work (tens of microseconds
// of gRPC per call), which at twice the saturating load is a large part of
// its CPU; refused locally, it costs nothing there, so the server's CPU goes
// to the calls it answers.
//
// Over a sliding window the client counts the calls it wanted to make
// (`requests`, refused locally or not) and those the server accepted
// (`accepts`: answered with anything but RESOURCE_EXHAUSTED), and refuses a
// new call locally with probability
//     max(0, (requests - K x accepts) / (requests + 1)).
// While the server accepts everything nothing is refused; K > 1 lets K times
// what the server accepted through, so the client notices quickly when the
// server recovers.
//
//   AdaptiveThrottle throttle({.accepts_multiplier = 1.1});
//   if (!throttle.Admit(absl::Now(), draw)) { /* RESOURCE_EXHAUSTED locally */ }
//   throttle.Record(absl::Now(), status.code() != RESOURCE_EXHAUSTED);
//
// Thread-safe.

#include <cstdint>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace easymoney {

class AdaptiveThrottle {
 public:
  struct Options {
    // K: how many times the accepted calls may be sent. 2 is the book's
    // default; closer to 1 refuses more locally and less at the server.
    double accepts_multiplier = 2.0;
    // The counts cover this much of the recent past, in `buckets` steps.
    absl::Duration window = absl::Seconds(10);
    int buckets = 10;
  };

  explicit AdaptiveThrottle(const Options& options);

  // Whether to send a call now; `draw` is uniform in [0, 1). Counts the call
  // as a request either way.
  bool Admit(absl::Time now, double draw) ABSL_LOCKS_EXCLUDED(mu_);
  // Counts a call the client wants to make and returns the probability with
  // which to refuse it (Admit is `draw >= Request(now)`), for a caller that
  // combines this with other reasons to refuse.
  double Request(absl::Time now) ABSL_LOCKS_EXCLUDED(mu_);
  // The server's verdict on a call that was sent: accepted unless it was
  // refused for overload.
  void Record(absl::Time now, bool accepted) ABSL_LOCKS_EXCLUDED(mu_);
  // The current probability of a local refusal.
  double RefusalProbability(absl::Time now) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Bucket {
    int64_t index = -1;  // now / bucket width when it was last used.
    int64_t requests = 0;
    int64_t accepts = 0;
  };
  // The bucket for `now`, emptied first when it held an older step.
  Bucket& Current(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  double ProbabilityLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const double multiplier_;
  const absl::Duration bucket_width_;
  absl::Mutex mu_;
  std::vector<Bucket> buckets_ ABSL_GUARDED_BY(mu_);
};

}  // namespace easymoney

#endif  // EASYMONEY_CLIENT_ADAPTIVE_THROTTLE_H_
