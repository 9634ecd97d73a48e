#include "client/load_balancing.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace easymoney {

bool ListsSeveralAddresses(absl::string_view target) {
  return (absl::StartsWith(target, "ipv4:") || absl::StartsWith(target, "ipv6:")) &&
         absl::StrContains(target, ',');
}

absl::StatusOr<std::string> ChooseLoadBalancingPolicy(absl::string_view target, absl::string_view requested) {
  if (requested == "round_robin" || requested == "pick_first") return std::string(requested);
  if (!requested.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("load-balancing policy '", requested,
                                                   "' is not one of round_robin, pick_first (or empty: round_robin "
                                                   "for a list of addresses, else gRPC's default)"));
  }
  return ListsSeveralAddresses(target) ? "round_robin" : "";
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> CreateBalancedChannel(
    absl::string_view target, absl::string_view requested_policy,
    std::shared_ptr<grpc::ChannelCredentials> credentials, bool private_connection) {
  if (target.empty()) return absl::InvalidArgumentError("target is empty");
  absl::StatusOr<std::string> policy = ChooseLoadBalancingPolicy(target, requested_policy);
  if (!policy.ok()) return policy.status();
  grpc::ChannelArguments arguments;
  if (!policy->empty()) arguments.SetLoadBalancingPolicyName(*policy);
  if (private_connection) arguments.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  auto channel = grpc::CreateCustomChannel(
      std::string(target), credentials != nullptr ? credentials : grpc::InsecureChannelCredentials(), arguments);
  if (channel == nullptr) return absl::InvalidArgumentError(absl::StrCat("cannot create a channel to ", target));
  return channel;
}

}  // namespace easymoney
