#ifndef EASYMONEY_CLIENT_LOAD_BALANCING_H_
#define EASYMONEY_CLIENT_LOAD_BALANCING_H_

#include <memory>
#include <string>

#include <grpcpp/channel.h>
#include <grpcpp/security/credentials.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace easymoney {

// How a client spreads calls over the replicas of recommender-server that one
// gRPC target resolves to: a list ("ipv4:127.0.0.1:50051,127.0.0.1:50052") or
// a DNS name with several A records (a Kubernetes headless Service).
//
//   auto channel = CreateBalancedChannel("ipv4:127.0.0.1:50051,127.0.0.1:50052", "");
//   // round_robin: each call goes to the next READY address.
//
// gRPC's default policy, pick_first, sends every call to the first address
// that connects, so a client of several replicas would load only one of
// them. Thread-safe (pure functions; gRPC channels are thread-safe).

// True when `target` lists more than one address behind the ipv4: or ipv6:
// scheme, the only resolvers that read comma-separated lists.
bool ListsSeveralAddresses(absl::string_view target);

// The load-balancing policy for a channel to `target`: `requested` when it is
// "round_robin" or "pick_first"; when it is empty, "round_robin" if the
// target lists several addresses, else "" (gRPC's default, pick_first, or
// what the resolver's service config says). Any other `requested` is
// INVALID_ARGUMENT naming the accepted values.
absl::StatusOr<std::string> ChooseLoadBalancingPolicy(absl::string_view target, absl::string_view requested);

// A channel to `target` with the policy ChooseLoadBalancingPolicy picks,
// over `credentials` (null: plaintext; see channel_security.h for TLS).
// gRPC shares one connection among channels with the same target and
// settings; `private_connection` gives this channel its own (the load
// generator's way to look like several backends). Connects lazily. Errors:
// INVALID_ARGUMENT for an empty target or an unknown policy.
absl::StatusOr<std::shared_ptr<grpc::Channel>> CreateBalancedChannel(
    absl::string_view target, absl::string_view requested_policy,
    std::shared_ptr<grpc::ChannelCredentials> credentials = nullptr, bool private_connection = false);

}  // namespace easymoney

#endif  // EASYMONEY_CLIENT_LOAD_BALANCING_H_
