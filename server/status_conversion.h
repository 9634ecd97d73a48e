#ifndef EASYMONEY_SERVER_STATUS_CONVERSION_H_
#define EASYMONEY_SERVER_STATUS_CONVERSION_H_

#include <string>

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace easymoney {

// absl::StatusCode values are defined to equal gRPC's, so the code maps one
// to one and the message is carried unchanged.
inline grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

}  // namespace easymoney

#endif  // EASYMONEY_SERVER_STATUS_CONVERSION_H_
