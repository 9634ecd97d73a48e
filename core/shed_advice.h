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
//
// Both values are capped at kMaxAdvisedShare: some calls always reach the
// server, so the advice keeps arriving and can be withdrawn, and one client's
// report weighs at most 1 / (1 - kMaxAdvisedShare) calls however it lies.
//
// Pure functions; no gRPC here (core/ knows nothing of it).

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace easymoney {

inline constexpr char kShedAdviceKey[] = "x-easymoney-shed-advice";
inline constexpr char kClientRefusedKey[] = "x-easymoney-client-refused";
inline constexpr double kMaxAdvisedShare = 0.9;

// "0.412": three decimals, rounded; shares under 0.0005 format as "0".
std::string FormatShare(double share);

// A share as sent on the wire, clamped to [0, kMaxAdvisedShare]; nullopt
// for anything that is not a finite decimal number.
std::optional<double> ParseShare(absl::string_view text);

// How many wanted calls one arriving call stands for when its client
// refused calls locally with probability `refused` (already clamped).
inline double DemandWeight(double refused) { return 1.0 / (1.0 - refused); }

}  // namespace easymoney

#endif  // EASYMONEY_CORE_SHED_ADVICE_H_
