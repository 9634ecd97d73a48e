#ifndef EASYMONEY_SERVER_CONNECTION_LISTENER_H_
#define EASYMONEY_SERVER_CONNECTION_LISTENER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/server_builder.h>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace easymoney {

// Accepts the TCP connections of one grpc::Server port itself and hands
// them to gRPC through its external-connection acceptor.
//
// Why not gRPC's own listener: in gRPC 1.51 (Debian 12) one accept() that
// fails with EMFILE stops that listener for good, so a client that uses up
// the descriptor limit with idle connections takes the port down even after
// it has gone. Here:
//   - a connection that arrives while the process holds `max_descriptors`
//     descriptors or more is accepted and closed at once (the client sees
//     the connection reset and retries elsewhere), which keeps a reserve of
//     descriptors for model files, logs, metrics scrapes and the health port;
//   - should accept() still fail for lack of descriptors, the connection at
//     the head of the queue is taken with a spare descriptor kept for that
//     purpose and closed, and accepting goes on;
//   - any other accept() error is retried after a pause, never final.
// Connections refused either way are reported through `on_refused` and make
// RefusedRecently() true, which the server's health answer reads.
//
// The descriptor test is the number of the accepted descriptor: Linux gives
// the lowest free one, so descriptor N means N others are open.
//
//   auto listener = ConnectionListener::Bind({.address = "0.0.0.0:50051"});
//   auto acceptor = builder.experimental().AddExternalConnectionAcceptor(...);
//   auto server = builder.BuildAndStart();
//   (*listener)->Start(std::move(acceptor));
//
// Thread-safe; one thread accepts.
class ConnectionListener {
 public:
  struct Options {
    // host:port, [v6]:port or port-less wildcard forms as gRPC takes them
    // ("0.0.0.0:50051", "[::]:0", "localhost:50051"); port 0 picks a free
    // one. The wildcard hosts listen on IPv6 and IPv4 both.
    std::string address;
    // 0: the soft RLIMIT_NOFILE minus DefaultDescriptorReserve() of it.
    int max_descriptors = 0;
    // Called on the accepting thread for every refused connection.
    std::function<void()> on_refused = nullptr;
  };

  // Errors: INVALID_ARGUMENT for an address that does not parse or resolve,
  // UNAVAILABLE when no socket could be bound.
  static absl::StatusOr<std::unique_ptr<ConnectionListener>> Bind(Options options);

  // Listening sockets (non-blocking, close-on-exec) on every address of
  // `address` ("host:port"; a wildcard host is one dual-stack socket), one
  // port for all; the caller owns them. Bind's errors.
  static absl::StatusOr<std::vector<int>> ListenSockets(const std::string& address);
  // The port a listening socket is bound to.
  static int PortOf(int listening_fd);
  ~ConnectionListener();
  ConnectionListener(const ConnectionListener&) = delete;
  ConnectionListener& operator=(const ConnectionListener&) = delete;

  int port() const { return port_; }
  int max_descriptors() const { return max_descriptors_; }

  // Starts handing connections to `acceptor`; call once, after the
  // grpc::Server it belongs to has started.
  void Start(std::unique_ptr<grpc::experimental::ExternalConnectionAcceptor> acceptor);
  // Closes the listening sockets after joining the accepting thread;
  // connections already handed over are gRPC's. Idempotent.
  void Stop();

  int64_t refused() const { return refused_.load(std::memory_order_relaxed); }
  // Whether a connection was refused within the last `window`.
  bool RefusedRecently(absl::Duration window) const;

  // Descriptors kept back from connections out of a limit of `limit`.
  static int DefaultDescriptorReserve(int limit);
  // The process's soft RLIMIT_NOFILE (capped at 2^30).
  static int DescriptorLimit();

 private:
  ConnectionListener() = default;
  void AcceptLoop();
  // Accepts from `listener_fd` until it has no connection waiting.
  void AcceptAll(int listener_fd);
  void Refuse(int fd);

  std::vector<int> listener_fds_;
  int port_ = 0;
  int max_descriptors_ = 0;
  std::function<void()> on_refused_;
  // Opened on /dev/null and given up for a moment when accept() fails with
  // EMFILE, so the waiting connection can be taken off the queue and closed.
  int spare_fd_ = -1;
  // Written by Stop() to wake the accepting thread.
  int wake_fd_ = -1;
  std::unique_ptr<grpc::experimental::ExternalConnectionAcceptor> acceptor_;
  std::thread thread_;
  std::atomic<int64_t> refused_{0};
  std::atomic<int64_t> last_refused_ns_{0};  // absl::GetCurrentTimeNanos().
};

}  // namespace easymoney

#endif  // EASYMONEY_SERVER_CONNECTION_LISTENER_H_
