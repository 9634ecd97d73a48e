#include "server/server_settings.h"

#include "absl/synchronization/mutex.h"

namespace easymoney {

void ApplyServerSettings(grpc::ServerBuilder& builder) {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  builder.SetMaxReceiveMessageSize(kMaxRequestBytes);
  builder.SetMaxSendMessageSize(kMaxRequestBytes);
}

}  // namespace easymoney
