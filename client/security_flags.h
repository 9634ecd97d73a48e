#ifndef EASYMONEY_CLIENT_SECURITY_FLAGS_H_
#define EASYMONEY_CLIENT_SECURITY_FLAGS_H_

#include "absl/status/statusor.h"
#include "client/channel_security.h"

namespace easymoney {

// The connection flags recommender-cli and recommender-loadgen share:
//   --tls                 TLS, verified against the system's roots
//   --tls-ca FILE         TLS, verified against this CA bundle
//   --tls-cert/--tls-key  client certificate for mutual TLS
//   --token-file FILE     bearer token; else $RECOMMENDER_TOKEN if set
// (plaintext without any of the --tls flags).
absl::StatusOr<ChannelSecurity> ChannelSecurityFromFlags();

}  // namespace easymoney

#endif  // EASYMONEY_CLIENT_SECURITY_FLAGS_H_
