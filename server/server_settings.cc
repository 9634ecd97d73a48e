#include "server/server_settings.h"

#include "absl/synchronization/mutex.h"

namespace easymoney {

void ApplyServerSettings(grpc::ServerBuilder& builder) {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  builder.SetMaxReceiveMessageSize(kMaxRequestBytes);
  // HTTP/2 back-pressure per connection: without a cap a client that opens
  // streams faster than the server answers gets every one accepted, and the
  // server's memory and queue grow with them (1.3 GB and a 30x throughput
  // collapse at twice the saturating load, scripts/bench-overload). With it,
  // the excess waits on the client, which sees it as its own queue and
  // deadline.
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, kMaxStreamsPerConnection);
  builder.SetMaxSendMessageSize(kMaxRequestBytes);
  builder.AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS, kHandshakeTimeoutMs);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS, kMaxConnectionIdleMs);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, kKeepaliveTimeMs);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, kKeepaliveTimeoutMs);
}

}  // namespace easymoney
