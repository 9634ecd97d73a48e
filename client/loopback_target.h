#ifndef EASYMONEY_CLIENT_LOOPBACK_TARGET_H_
#define EASYMONEY_CLIENT_LOOPBACK_TARGET_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace easymoney {

// Checks that a gRPC target names this machine's loopback interface, so a
// load generator cannot be pointed at a shared server by mistake.
//
// Accepted: HOST:PORT where HOST is an IPv4 address in 127.0.0.0/8,
// "localhost" or "[::1]", optionally behind the "ipv4:", "ipv6:" or "dns:///"
// scheme; PORT is 1..65535. Behind "ipv4:" or "ipv6:" also a comma-separated
// list of such addresses ("ipv4:127.0.0.1:50051,127.0.0.1:50052"), the form
// gRPC resolves to several backends; every address in it must be loopback.
// Everything else (other hosts, unix sockets, a list without those schemes or
// with an empty entry, a missing port) is INVALID_ARGUMENT with a message that
// quotes the target. Thread-safe (a pure function).
absl::Status CheckLoopbackTarget(absl::string_view target);

}  // namespace easymoney

#endif  // EASYMONEY_CLIENT_LOOPBACK_TARGET_H_
