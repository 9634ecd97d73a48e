#ifndef EASYMONEY_CORE_SHED_ADVICE_H_
#define EASYMONEY_CORE_SHED_ADVICE_H_

// The wire format of server-advised client throttling, which the server and
// every client must agree on (docs/api.md, "Overload advice").
//
// A refusal the server sends still costs it gRPC's own work for the call;
// at twice the saturating load that is a large part of its CPU and caps
// what it can answer. So while its CPU is saturated the server tells its
// clients what share of their calls to refuse themselves, and a refusal made
// by the client costs the server nothing:
//
//   - Every answer (any status) of a server that wants clients to hold back
//     carries trailing metadata `x-easymoney-shed-advice: 0.412`, the share
//     of calls to refuse locally, 0 < share <= kMaxAdvisedShare. No such
//     entry on an answer means no advice.
//   - A client that refuses calls locally sends, on each call it does send,
//     `x-easymoney-client-refused: 0.412`, the probability with which it
//     refused a call at that moment (on the advice, its own adaptive
//     throttle, or both). Each arriving call then stands for 1 / (1 - q)
//     calls the clients wanted to make, so the server knows the demand it
//     no longer sees; without that it would read the clients' restraint as
//     the overload's end, withdraw the advice, and the two would chase each
//     other.
//   - A client that follows the advice also sends, on each call while the
//     advice is in force, `x-easymoney-client-delay-ms: 3.2`: by how much its
//     recent answers took longer than its fastest one of the last 10-20 s.
//     That excess is the time calls spend queued (in the socket buffers and
//     the transport, ahead of any handler, where the server cannot see
//     them), each client measuring against its own clock, so no clocks need
//     agree. It lets the server size the advice on the queue itself rather
//     than on its CPU reading, which reads full well before the answers do.
//
// Both shares are capped at kMaxAdvisedShare: some calls always reach the
// server, so the advice keeps arriving and can be withdrawn, and one client's
// report weighs at most 1 / (1 - kMaxAdvisedShare) calls however it lies.
// A delay report counts as one vote on whether calls are queued (the server
// needs a majority, core/cpu_shed_controller.h), so a lie moves little.
//
// Pure functions; no gRPC here (core/ knows nothing of it).

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace easymoney {

inline constexpr char kShedAdviceKey[] = "x-easymoney-shed-advice";
inline constexpr char kClientRefusedKey[] = "x-easymoney-client-refused";
inline constexpr char kClientDelayKey[] = "x-easymoney-client-delay-ms";
inline constexpr double kMaxAdvisedShare = 0.9;
// The most queueing one report can claim, in seconds.
inline constexpr double kMaxReportedDelay = 60;

// "0.412": three decimals, rounded; shares under 0.0005 format as "0".
std::string FormatShare(double share);

// A share as sent on the wire, clamped to [0, kMaxAdvisedShare]; nullopt
// for anything that is not a finite decimal number.
std::optional<double> ParseShare(absl::string_view text);

// A queueing delay in seconds as sent on the wire: milliseconds with one
// decimal ("3.2"), negative as "0".
std::string FormatDelay(double seconds);

// A delay as sent on the wire (milliseconds), in seconds, clamped to
// [0, kMaxReportedDelay]; nullopt for anything that is not a finite decimal
// number.
std::optional<double> ParseDelay(absl::string_view milliseconds);

// How many wanted calls one arriving call stands for when its client
// refused calls locally with probability `refused` (already clamped).
inline double DemandWeight(double refused) { return 1.0 / (1.0 - refused); }

}  // namespace easymoney

#endif  // EASYMONEY_CORE_SHED_ADVICE_H_
