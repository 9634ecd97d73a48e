#include "server/http_server.h"

#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "core/auth/secret_file.h"
#include "core/util/file_io.h"
#include "server/connection_listener.h"

namespace easymoney {

// One request on one connection, shared by MHD's callbacks and the
// handler's Respond (which may outlive the connection, and the server).
struct HttpServer::Exchange {
  Listener* listener = nullptr;  // Valid until OnCompleted.
  MHD_Connection* connection = nullptr;
  std::string body;
  bool too_large = false;
  bool too_large_answered = false;
  size_t discarded = 0;  // Body bytes read past the bound.
  bool handed = false;   // To the handler.

  absl::Mutex mu;
  std::optional<Response> response ABSL_GUARDED_BY(mu);
  // Response::done of the answer taken: run once the exchange ends.
  std::function<void()> done ABSL_GUARDED_BY(mu);
  bool answered ABSL_GUARDED_BY(mu) = false;
  // Suspended by OnRequest until the answer comes (and is taken).
  bool suspended ABSL_GUARDED_BY(mu) = false;
  bool closed ABSL_GUARDED_BY(mu) = false;

  // An answer: the first is kept for the access handler (which a suspended
  // connection gets called again for once resumed); a later one, or one
  // after the connection is gone, only has its `done` run.
  void Deliver(Response answer) {
    std::function<void()> unused;
    {
      absl::MutexLock lock(&mu);
      if (answered || closed) {
        unused = std::move(answer.done);
      } else {
        answered = true;
        done = std::move(answer.done);
        response = std::move(answer);
        if (suspended) MHD_resume_connection(connection);
      }
    }
    if (unused) unused();
  }
};

// A libmicrohttpd daemon on the listening socket, and what is in flight on
// it: Drain() ends it without MHD_stop_daemon ever meeting a suspended
// connection (libmicrohttpd aborts the process then).
struct HttpServer::Listener {
  HttpServer* server = nullptr;
  MHD_Daemon* daemon = nullptr;
  std::unique_ptr<TlsPems> pems;  // What the daemon runs with.
  // Stopping: requests not yet handed to the handler are answered 503.
  std::atomic<bool> draining{false};

  absl::Mutex mu;
  // Exchanges from their first call to OnCompleted.
  int open ABSL_GUARDED_BY(mu) = 0;
  absl::flat_hash_set<std::shared_ptr<Exchange>> suspended ABSL_GUARDED_BY(mu);

  // Waits up to `grace` for the exchanges open to end; answers those still
  // waiting with 503 then, and waits for libmicrohttpd to take those
  // answers. False when some did not come out of suspension (the daemon
  // must then not be stopped).
  bool Drain(absl::Duration grace) {
    draining.store(true);
    const absl::Time deadline = absl::Now() + grace;
    auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return open == 0; };
    std::vector<std::shared_ptr<Exchange>> waiting;
    {
      absl::MutexLock lock(&mu);
      mu.AwaitWithDeadline(absl::Condition(&idle), deadline);
      waiting.assign(suspended.begin(), suspended.end());
    }
    for (const auto& exchange : waiting) {
      Response stopping;
      stopping.status = 503;
      stopping.content_type = "application/json";
      stopping.body = R"({"code":"unavailable","message":"the server is stopping its HTTP listener: retry"})";
      stopping.headers.emplace_back("Connection", "close");
      exchange->Deliver(std::move(stopping));
    }
    auto none_suspended = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return suspended.empty(); };
    absl::MutexLock lock(&mu);
    return mu.AwaitWithTimeout(absl::Condition(&none_suspended), absl::Seconds(5));
  }
};

// The C callbacks MHD calls.
struct HttpServerCallbacks {
  static MHD_Result Queue(MHD_Connection* connection, const HttpServer::Response& answer) {
    MHD_Response* response = MHD_create_response_from_buffer(
        answer.body.size(), const_cast<char*>(answer.body.data()), MHD_RESPMEM_MUST_COPY);
    if (response == nullptr) return MHD_NO;
    if (!answer.content_type.empty()) MHD_add_response_header(response, "Content-Type", answer.content_type.c_str());
    for (const auto& [name, value] : answer.headers) MHD_add_response_header(response, name.c_str(), value.c_str());
    const MHD_Result queued = MHD_queue_response(connection, static_cast<unsigned>(answer.status), response);
    MHD_destroy_response(response);
    return queued;
  }

  static MHD_Result CollectHeader(void* cls, MHD_ValueKind, const char* key, const char* value) {
    auto* headers = static_cast<absl::flat_hash_map<std::string, std::string>*>(cls);
    if (key != nullptr) headers->try_emplace(absl::AsciiStrToLower(key), value == nullptr ? "" : value);
    return MHD_YES;
  }

  static std::string PeerOf(MHD_Connection* connection) {
    const MHD_ConnectionInfo* info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (info == nullptr || info->client_addr == nullptr) return "unknown";
    char text[INET6_ADDRSTRLEN] = {};
    const sockaddr* address = info->client_addr;
    if (address->sa_family == AF_INET) {
      const auto* v4 = reinterpret_cast<const sockaddr_in*>(address);
      inet_ntop(AF_INET, &v4->sin_addr, text, sizeof(text));
      return absl::StrCat("ipv4:", text, ":", ntohs(v4->sin_port));
    }
    if (address->sa_family == AF_INET6) {
      const auto* v6 = reinterpret_cast<const sockaddr_in6*>(address);
      inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof(text));
      return absl::StrCat("ipv6:[", text, "]:", ntohs(v6->sin6_port));
    }
    return "unknown";
  }

  static bool ClientCertificateVerified(MHD_Connection* connection) {
    const MHD_ConnectionInfo* info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (info == nullptr || info->tls_session == nullptr) return false;
    auto session = static_cast<gnutls_session_t>(info->tls_session);
    unsigned int count = 0;
    if (gnutls_certificate_get_peers(session, &count) == nullptr || count == 0) return false;
    unsigned int status = 0;
    return gnutls_certificate_verify_peers2(session, &status) == GNUTLS_E_SUCCESS && status == 0;
  }

  static MHD_Result OnRequest(void* cls, MHD_Connection* connection, const char* url, const char* method,
                              const char* /*version*/, const char* upload_data, size_t* upload_data_size,
                              void** con_cls) {
    auto* listener = static_cast<HttpServer::Listener*>(cls);
    const HttpServer::Options& options = listener->server->options_;
    const size_t max_body = options.max_body_bytes;
    if (*con_cls == nullptr) {
      auto exchange = std::make_shared<HttpServer::Exchange>();
      exchange->listener = listener;
      exchange->connection = connection;
      *con_cls = new std::shared_ptr<HttpServer::Exchange>(exchange);
      {
        absl::MutexLock lock(&listener->mu);
        ++listener->open;
      }
      // An announced length over the bound is answered before any of the
      // body is read.
      const char* length = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
      uint64_t announced = 0;
      if (length != nullptr && absl::SimpleAtoi(length, &announced) && announced > max_body) {
        exchange->too_large = true;
        exchange->too_large_answered = true;
        return Queue(connection, options.too_large);
      }
      return MHD_YES;
    }
    const std::shared_ptr<HttpServer::Exchange>& exchange = *static_cast<std::shared_ptr<HttpServer::Exchange>*>(*con_cls);
    if (*upload_data_size > 0) {
      const size_t size = *upload_data_size;
      *upload_data_size = 0;
      if (!exchange->too_large && exchange->body.size() + size > max_body) {
        exchange->too_large = true;
        exchange->discarded = exchange->body.size();
        exchange->body = std::string();
      }
      if (exchange->too_large) {
        // A body without a length (chunked) is answered once it ends, as
        // libmicrohttpd queues no answer mid-body; one that goes on past
        // twice the bound is cut off.
        exchange->discarded += size;
        return exchange->discarded > 2 * max_body ? MHD_NO : MHD_YES;
      }
      exchange->body.append(upload_data, size);
      return MHD_YES;
    }
    if (exchange->too_large) {
      if (exchange->too_large_answered) return MHD_YES;
      exchange->too_large_answered = true;
      return Queue(connection, options.too_large);
    }
    if (!exchange->handed) {
      exchange->handed = true;
      if (listener->draining.load()) {
        HttpServer::Response stopping;
        stopping.status = 503;
        stopping.content_type = "application/json";
        stopping.body = R"({"code":"unavailable","message":"the server is stopping its HTTP listener: retry"})";
        stopping.headers.emplace_back("Connection", "close");
        exchange->Deliver(std::move(stopping));
      } else {
        HttpServer::Request request;
        request.method = method == nullptr ? "" : method;
        request.path = url == nullptr ? "" : url;
        request.body = std::move(exchange->body);
        request.peer = PeerOf(connection);
        MHD_get_connection_values(connection, MHD_HEADER_KIND, &CollectHeader, &request.headers);
        if (!options.tls_client_ca_file.empty()) {
          request.client_certificate_verified = ClientCertificateVerified(connection);
        }
        std::shared_ptr<HttpServer::Exchange> kept = exchange;
        listener->server->handler_(std::move(request),
                                   [kept](HttpServer::Response answer) { kept->Deliver(std::move(answer)); });
      }
    }
    absl::MutexLock lock(&exchange->mu);
    if (exchange->response.has_value()) {
      if (exchange->suspended) {
        exchange->suspended = false;
        absl::MutexLock listener_lock(&listener->mu);
        listener->suspended.erase(exchange);
      }
      return Queue(connection, *exchange->response);
    }
    // Answered later (feedback waits for the disk): no polling meanwhile.
    exchange->suspended = true;
    {
      absl::MutexLock listener_lock(&listener->mu);
      listener->suspended.insert(exchange);
    }
    MHD_suspend_connection(connection);
    return MHD_YES;
  }

  static void OnCompleted(void* cls, MHD_Connection* /*connection*/, void** con_cls,
                          MHD_RequestTerminationCode /*code*/) {
    auto* holder = static_cast<std::shared_ptr<HttpServer::Exchange>*>(*con_cls);
    if (holder == nullptr) return;
    auto* listener = static_cast<HttpServer::Listener*>(cls);
    std::function<void()> done;
    {
      absl::MutexLock lock(&(*holder)->mu);
      (*holder)->closed = true;
      done = std::move((*holder)->done);
    }
    {
      absl::MutexLock lock(&listener->mu);
      --listener->open;
      listener->suspended.erase(*holder);
    }
    delete holder;
    *con_cls = nullptr;
    if (done) done();
  }
};

namespace {

// The stamps of the TLS files, to notice a rotation.
std::vector<FileStamp> TlsStamps(const HttpServer::Options& options) {
  return {StampOf(options.tls_cert_file), StampOf(options.tls_key_file), StampOf(options.tls_client_ca_file)};
}

}  // namespace

absl::Status HttpServer::ReadTlsFiles(TlsPems& pems) const {
  for (auto [path, pem] : {std::pair{&options_.tls_cert_file, &pems.cert}, std::pair{&options_.tls_key_file, &pems.key},
                           std::pair{&options_.tls_client_ca_file, &pems.client_ca}}) {
    if (path->empty()) continue;
    auto text = ReadFileToString(*path);
    if (!text.ok()) return absl::InvalidArgumentError(absl::StrCat("HTTP port TLS: ", text.status().message()));
    *pem = *std::move(text);
  }
  // What libmicrohttpd would refuse at start, said now and precisely: a
  // certificate and key that do not load or belong together, a CA bundle
  // without a certificate.
  gnutls_certificate_credentials_t credentials = nullptr;
  if (gnutls_certificate_allocate_credentials(&credentials) != GNUTLS_E_SUCCESS) {
    return absl::InternalError("HTTP port TLS: cannot allocate GnuTLS credentials");
  }
  auto datum = [](const std::string& text) {
    return gnutls_datum_t{reinterpret_cast<unsigned char*>(const_cast<char*>(text.data())),
                          static_cast<unsigned int>(text.size())};
  };
  const gnutls_datum_t cert = datum(pems.cert), key = datum(pems.key);
  int result = gnutls_certificate_set_x509_key_mem(credentials, &cert, &key, GNUTLS_X509_FMT_PEM);
  std::string problem;
  if (result < 0) {
    problem = absl::StrCat(options_.tls_cert_file, " and ", options_.tls_key_file,
                           " are not a PEM certificate chain and its key: ", gnutls_strerror(result));
  } else if (!pems.client_ca.empty()) {
    const gnutls_datum_t ca = datum(pems.client_ca);
    result = gnutls_certificate_set_x509_trust_mem(credentials, &ca, GNUTLS_X509_FMT_PEM);
    if (result <= 0) {
      problem = absl::StrCat(options_.tls_client_ca_file, " holds no PEM CA certificate",
                             result < 0 ? absl::StrCat(": ", gnutls_strerror(result)) : "");
    }
  }
  gnutls_certificate_free_credentials(credentials);
  if (!problem.empty()) return absl::InvalidArgumentError(absl::StrCat("HTTP port TLS: ", problem));
  return absl::OkStatus();
}

std::unique_ptr<HttpServer::Listener> HttpServer::StartListener(std::unique_ptr<TlsPems> pems) {
  auto listener = std::make_unique<Listener>();
  listener->server = this;
  listener->pems = std::move(pems);
  // A descriptor of its own on the one socket: a daemon that fails to start
  // or is stopped closes only its copy.
  const int fd = dup(listen_fd_);
  if (fd < 0) return nullptr;
  const bool tls = !options_.tls_cert_file.empty();
  unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME;
  if (tls) flags |= MHD_USE_TLS;
  std::vector<MHD_OptionItem> items = {
      {MHD_OPTION_LISTEN_SOCKET, fd, nullptr},
      {MHD_OPTION_THREAD_POOL_SIZE, std::max(1, options_.threads), nullptr},
      {MHD_OPTION_CONNECTION_LIMIT, std::max(1, options_.max_connections), nullptr},
      {MHD_OPTION_PER_IP_CONNECTION_LIMIT, std::max(1, options_.max_connections_per_ip), nullptr},
      {MHD_OPTION_CONNECTION_TIMEOUT,
       static_cast<intptr_t>(std::max<int64_t>(1, absl::ToInt64Seconds(options_.idle_timeout))), nullptr},
      // The connection's memory pool holds the request line and headers
      // (the body goes to the handler in chunks), so it bounds them.
      {MHD_OPTION_CONNECTION_MEMORY_LIMIT, static_cast<intptr_t>(std::max<size_t>(options_.max_header_bytes, 4096)),
       nullptr},
      {MHD_OPTION_NOTIFY_COMPLETED, reinterpret_cast<intptr_t>(&HttpServerCallbacks::OnCompleted), listener.get()},
  };
  if (tls) {
    items.push_back({MHD_OPTION_HTTPS_MEM_CERT, 0, const_cast<char*>(listener->pems->cert.c_str())});
    items.push_back({MHD_OPTION_HTTPS_MEM_KEY, 0, const_cast<char*>(listener->pems->key.c_str())});
    if (!listener->pems->client_ca.empty()) {
      items.push_back({MHD_OPTION_HTTPS_MEM_TRUST, 0, const_cast<char*>(listener->pems->client_ca.c_str())});
    }
  }
  items.push_back({MHD_OPTION_END, 0, nullptr});
  listener->daemon = MHD_start_daemon(flags, 0, nullptr, nullptr, &HttpServerCallbacks::OnRequest, listener.get(),
                                      MHD_OPTION_ARRAY, items.data(), MHD_OPTION_END);
  // On failure the descriptor is not closed here: libmicrohttpd may have
  // closed it already (a failed TLS set-up does), and a second close could
  // hit a descriptor another thread has just been given.
  if (listener->daemon == nullptr) return nullptr;
  return listener;
}

void HttpServer::StopListener(std::unique_ptr<Listener> listener, absl::Duration grace) {
  // No new connections on it; those open finish what they have.
  const int fd = MHD_quiesce_daemon(listener->daemon);
  if (!listener->Drain(grace)) {
    // A connection still suspended: stopping the daemon would abort the
    // process. Leave it running, unreachable (it accepts nothing more).
    std::fprintf(stderr, "recommender-server: an HTTP connection did not come out of suspension; "
                 "leaving its listener running\n");
    (void)listener.release();
    return;
  }
  MHD_stop_daemon(listener->daemon);
  if (fd >= 0) close(fd);
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const Options& options, Handler handler) {
  std::unique_ptr<HttpServer> server(new HttpServer(options, std::move(handler)));
  absl::MutexLock lock(&server->control_mu_);
  auto pems = std::make_unique<TlsPems>();
  if (!options.tls_cert_file.empty()) {
    server->tls_stamps_ = TlsStamps(options);
    if (absl::Status read = server->ReadTlsFiles(*pems); !read.ok()) return read;
  }
  auto sockets = ConnectionListener::ListenSockets(options.address);
  if (!sockets.ok()) return sockets.status();
  // libmicrohttpd takes one listening socket: the first address's.
  server->listen_fd_ = sockets->front();
  for (size_t i = 1; i < sockets->size(); ++i) close((*sockets)[i]);
  server->port_ = ConnectionListener::PortOf(server->listen_fd_);
  server->listener_ = server->StartListener(std::move(pems));
  if (server->listener_ == nullptr) {
    return absl::UnavailableError(absl::StrCat("cannot start the HTTP port on ", options.address));
  }
  return server;
}

absl::Status HttpServer::ReloadTlsIfChanged(absl::Duration grace) {
  absl::MutexLock lock(&control_mu_);
  if (listener_ == nullptr || options_.tls_cert_file.empty()) return absl::OkStatus();
  const std::vector<FileStamp> stamps = TlsStamps(options_);
  if (stamps == tls_stamps_) return absl::OkStatus();
  // Files half-replaced (a certificate without its key yet) are refused
  // here, and tried again once they change again.
  tls_stamps_ = stamps;
  auto pems = std::make_unique<TlsPems>();
  if (absl::Status read = ReadTlsFiles(*pems); !read.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(read.message(), "; the HTTP port keeps its certificate"));
  }
  // The new daemon accepts beside the old one, then the old one stops
  // accepting and finishes its connections.
  std::unique_ptr<Listener> renewed = StartListener(std::move(pems));
  if (renewed == nullptr) {
    return absl::UnavailableError("HTTP port TLS reload: cannot start a listener; the port keeps its certificate");
  }
  std::unique_ptr<Listener> previous = std::move(listener_);
  listener_ = std::move(renewed);
  StopListener(std::move(previous), grace);
  return absl::OkStatus();
}

HttpServer::HttpServer(Options options, Handler handler)
    : options_(std::move(options)), handler_(std::move(handler)) {}

HttpServer::~HttpServer() { Stop(absl::ZeroDuration()); }

void HttpServer::Stop(absl::Duration grace) {
  absl::MutexLock lock(&control_mu_);
  if (listener_ == nullptr) return;
  StopListener(std::move(listener_), grace);
  close(listen_fd_);
  listen_fd_ = -1;
}

}  // namespace easymoney
