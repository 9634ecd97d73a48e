#ifndef EASYMONEY_SERVER_SERVER_SETTINGS_H_
#define EASYMONEY_SERVER_SERVER_SETTINGS_H_

#include <grpcpp/server_builder.h>

namespace easymoney {

// Largest request message accepted (a 500-item batch with holdings and
// profiles is well under 1 MiB); larger ones get RESOURCE_EXHAUSTED from gRPC.
inline constexpr int kMaxRequestBytes = 4 << 20;

// Concurrent calls one client connection may have open on the server.
inline constexpr int kMaxStreamsPerConnection = 256;

// Connections that hold a descriptor without serving anyone are closed: a
// TCP connection that has not finished its TLS and HTTP/2 handshake after
// kHandshakeTimeoutMs (gRPC's default is 120 s), and an established one
// with no call for kMaxConnectionIdleMs (clients reconnect transparently).
// Keepalive pings find peers that vanished without closing.
inline constexpr int kHandshakeTimeoutMs = 10'000;
inline constexpr int kMaxConnectionIdleMs = 5 * 60'000;
inline constexpr int kKeepaliveTimeMs = 60'000;
inline constexpr int kKeepaliveTimeoutMs = 20'000;

// gRPC server settings shared by recommender-server and the floor server
// used as its performance baseline, so the two differ only in the work done
// per request.
// Also turns off Abseil's mutex deadlock detection for the whole process:
// Debian's Abseil has it on, and gRPC creates and destroys absl::Mutexes
// for every call, so each call paid for cycle-graph bookkeeping (about 6%
// of the server's CPU under load, measured with perf).
void ApplyServerSettings(grpc::ServerBuilder& builder);

}  // namespace easymoney

#endif  // EASYMONEY_SERVER_SERVER_SETTINGS_H_
