#ifndef EASYMONEY_SERVER_HTTP_SERVER_H_
#define EASYMONEY_SERVER_HTTP_SERVER_H_

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/auth/secret_file.h"


namespace easymoney {

// An HTTP/1.1 server for small unary calls (the Connect port), over GNU
// libmicrohttpd: a few threads poll every connection with epoll, so an idle
// or slow connection costs a descriptor and a few KiB, never a thread. The
// bounds an attacker meets:
// - at most `max_connections` at once (more are closed on accept; below the
//   process's descriptor limit, see ConnectionListener) and
//   `max_connections_per_ip` from one address;
// - a connection silent for `idle_timeout` is closed, whatever it was
//   sending;
// - a request's line and headers must fit `max_header_bytes` (else 431 or
//   a close), its body `max_body_bytes`: else `too_large`, answered at once
//   when Content-Length announces it; a body without a length is dropped
//   as it comes and answered when it ends, or cut off (closed) once it
//   passes twice the bound.
//
// Thread-safe. The handler runs on the server's threads and answers by
// calling its Respond exactly once, at once or later from any thread (even
// after Stop(): an answer still owed then is answered 503 `unavailable` and
// the late one only has its `done` run).
class HttpServer {
 public:
  struct Request {
    std::string method;  // "POST", "GET", ...
    std::string path;    // Without the query string.
    // Header names in lower case; a repeated header keeps its first value.
    absl::flat_hash_map<std::string, std::string> headers;
    std::string body;
    std::string peer;  // "ipv4:127.0.0.1:5555", as gRPC names peers.
    // Under TLS with a client CA: whether the client presented a
    // certificate that CA signed.
    bool client_certificate_verified = false;

    absl::string_view Header(absl::string_view lower_case_name) const {
      auto it = headers.find(lower_case_name);
      return it == headers.end() ? absl::string_view() : absl::string_view(it->second);
    }
  };
  struct Response {
    int status = 200;
    std::string content_type;
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
    // Run once the answer has been written, or the connection is gone
    // (what the call holds until its answer has left: its admission).
    std::function<void()> done;
  };
  using Respond = std::function<void(Response)>;
  using Handler = std::function<void(Request&&, Respond)>;

  struct Options {
    std::string address = "127.0.0.1:8080";  // host:port; port 0 picks a free one.
    int threads = 2;
    int max_connections = 1024;
    int max_connections_per_ip = 256;
    absl::Duration idle_timeout = absl::Seconds(30);
    size_t max_header_bytes = 16 << 10;
    size_t max_body_bytes = 4 << 20;
    // The answer to a body over max_body_bytes.
    Response too_large;
    // Non-empty: HTTPS with this PEM certificate chain and key (read at
    // Start and by ReloadTlsIfChanged). `client_ca_file` non-empty: clients
    // are asked for a certificate, and Request::client_certificate_verified
    // says whether it checked out against this CA.
    std::string tls_cert_file;
    std::string tls_key_file;
    std::string tls_client_ca_file;
  };

  // Binds and starts serving. Errors: INVALID_ARGUMENT (address, TLS files
  // that do not load), UNAVAILABLE (the port cannot be bound, the server
  // does not start).
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(const Options& options, Handler handler);
  ~HttpServer();  // Stop().

  int port() const { return port_; }
  // Stops accepting connections; requests that arrive on open connections
  // are answered 503 `unavailable` (Connection: close); waits up to `grace`
  // for the requests in progress, answers those still owed 503, then
  // closes every connection. Idempotent.
  void Stop(absl::Duration grace = absl::Seconds(5)) ABSL_LOCKS_EXCLUDED(control_mu_);

  // Takes renewed TLS files (a rotated Secret): when the certificate, key or
  // client CA file changed since they were read, a new libmicrohttpd daemon
  // takes the listening socket over with them, and the old one finishes
  // its connections within `grace`. OK when nothing changed or without TLS;
  // INVALID_ARGUMENT when the new files do not load (the port goes on with
  // the previous certificate).
  absl::Status ReloadTlsIfChanged(absl::Duration grace = absl::Seconds(5)) ABSL_LOCKS_EXCLUDED(control_mu_);

  // Per-request and per-daemon state; public for the C callbacks only.
  struct Exchange;
  struct Listener;

 private:
  HttpServer(Options options, Handler handler);

  struct TlsPems {
    std::string cert, key, client_ca;
  };
  // Reads the TLS files and checks that they load. INVALID_ARGUMENT naming
  // the problem.
  absl::Status ReadTlsFiles(TlsPems& pems) const;
  // A libmicrohttpd daemon on a copy of listen_fd_ with `pems`, or null.
  std::unique_ptr<Listener> StartListener(std::unique_ptr<TlsPems> pems) ABSL_EXCLUSIVE_LOCKS_REQUIRED(control_mu_);
  // Stops `listener` accepting, drains it within `grace`, stops it.
  static void StopListener(std::unique_ptr<Listener> listener, absl::Duration grace);

  const Options options_;
  const Handler handler_;
  int port_ = 0;
  // Stop and ReloadTlsIfChanged replace or end the daemon; requests never
  // touch these.
  absl::Mutex control_mu_;
  int listen_fd_ ABSL_GUARDED_BY(control_mu_) = -1;
  std::unique_ptr<Listener> listener_ ABSL_GUARDED_BY(control_mu_);
  std::vector<FileStamp> tls_stamps_ ABSL_GUARDED_BY(control_mu_);

  friend struct HttpServerCallbacks;
};

}  // namespace easymoney

#endif  // EASYMONEY_SERVER_HTTP_SERVER_H_
