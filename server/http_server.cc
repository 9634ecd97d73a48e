#include "server/http_server.h"

#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <optional>

#include "absl/base/thread_annotations.h"
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
  MHD_Connection* connection = nullptr;
  std::shared_ptr<std::atomic<int>> owed;
  std::string body;
  bool too_large = false;
  bool too_large_answered = false;
  size_t discarded = 0;  // Body bytes read past the bound.
  bool handed = false;   // To the handler.

  absl::Mutex mu;
  std::optional<Response> response ABSL_GUARDED_BY(mu);
  bool answered ABSL_GUARDED_BY(mu) = false;
  bool suspended ABSL_GUARDED_BY(mu) = false;
  bool closed ABSL_GUARDED_BY(mu) = false;

  // The handler's answer: kept for the access handler, which a suspended
  // connection gets called again for once resumed.
  void Deliver(Response answer) {
    absl::MutexLock lock(&mu);
    if (answered) return;
    answered = true;
    owed->fetch_sub(1);
    if (closed) return;
    response = std::move(answer);
    if (suspended) {
      suspended = false;
      MHD_resume_connection(connection);
    }
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
    auto* server = static_cast<HttpServer*>(cls);
    const size_t max_body = server->options_.max_body_bytes;
    if (*con_cls == nullptr) {
      auto exchange = std::make_shared<HttpServer::Exchange>();
      exchange->connection = connection;
      exchange->owed = server->owed_;
      *con_cls = new std::shared_ptr<HttpServer::Exchange>(exchange);
      // An announced length over the bound is answered before any of the
      // body is read.
      const char* length = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
      uint64_t announced = 0;
      if (length != nullptr && absl::SimpleAtoi(length, &announced) && announced > max_body) {
        exchange->too_large = true;
        exchange->too_large_answered = true;
        return Queue(connection, server->options_.too_large);
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
      return Queue(connection, server->options_.too_large);
    }
    if (!exchange->handed) {
      exchange->handed = true;
      HttpServer::Request request;
      request.method = method == nullptr ? "" : method;
      request.path = url == nullptr ? "" : url;
      request.body = std::move(exchange->body);
      request.peer = PeerOf(connection);
      MHD_get_connection_values(connection, MHD_HEADER_KIND, &CollectHeader, &request.headers);
      if (!server->options_.tls_client_ca_file.empty()) {
        request.client_certificate_verified = ClientCertificateVerified(connection);
      }
      server->owed_->fetch_add(1);
      std::shared_ptr<HttpServer::Exchange> kept = exchange;
      server->handler_(std::move(request),
                       [kept](HttpServer::Response answer) { kept->Deliver(std::move(answer)); });
    }
    absl::MutexLock lock(&exchange->mu);
    if (exchange->response.has_value()) return Queue(connection, *exchange->response);
    // Answered later (feedback waits for the disk): no polling meanwhile.
    exchange->suspended = true;
    MHD_suspend_connection(connection);
    return MHD_YES;
  }

  static void OnCompleted(void* /*cls*/, MHD_Connection* /*connection*/, void** con_cls,
                          MHD_RequestTerminationCode /*code*/) {
    auto* holder = static_cast<std::shared_ptr<HttpServer::Exchange>*>(*con_cls);
    if (holder == nullptr) return;
    {
      absl::MutexLock lock(&(*holder)->mu);
      (*holder)->closed = true;
    }
    delete holder;
    *con_cls = nullptr;
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
  return absl::OkStatus();
}

MHD_Daemon* HttpServer::StartDaemon(int listen_fd, const TlsPems& pems) {
  const bool tls = !options_.tls_cert_file.empty();
  unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME;
  if (tls) flags |= MHD_USE_TLS;
  std::vector<MHD_OptionItem> items = {
      {MHD_OPTION_LISTEN_SOCKET, listen_fd, nullptr},
      {MHD_OPTION_THREAD_POOL_SIZE, std::max(1, options_.threads), nullptr},
      {MHD_OPTION_CONNECTION_LIMIT, std::max(1, options_.max_connections), nullptr},
      {MHD_OPTION_PER_IP_CONNECTION_LIMIT, std::max(1, options_.max_connections_per_ip), nullptr},
      {MHD_OPTION_CONNECTION_TIMEOUT,
       static_cast<intptr_t>(std::max<int64_t>(1, absl::ToInt64Seconds(options_.idle_timeout))), nullptr},
      // The connection's memory pool holds the request line and headers
      // (the body goes to the handler in chunks), so it bounds them.
      {MHD_OPTION_CONNECTION_MEMORY_LIMIT, static_cast<intptr_t>(std::max<size_t>(options_.max_header_bytes, 4096)),
       nullptr},
      {MHD_OPTION_NOTIFY_COMPLETED, reinterpret_cast<intptr_t>(&HttpServerCallbacks::OnCompleted), nullptr},
  };
  if (tls) {
    items.push_back({MHD_OPTION_HTTPS_MEM_CERT, 0, const_cast<char*>(pems.cert.c_str())});
    items.push_back({MHD_OPTION_HTTPS_MEM_KEY, 0, const_cast<char*>(pems.key.c_str())});
    if (!pems.client_ca.empty()) {
      items.push_back({MHD_OPTION_HTTPS_MEM_TRUST, 0, const_cast<char*>(pems.client_ca.c_str())});
    }
  }
  items.push_back({MHD_OPTION_END, 0, nullptr});
  return MHD_start_daemon(flags, 0, nullptr, nullptr, &HttpServerCallbacks::OnRequest, this, MHD_OPTION_ARRAY,
                          items.data(), MHD_OPTION_END);
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const Options& options, Handler handler) {
  std::unique_ptr<HttpServer> server(new HttpServer(options, std::move(handler)));
  absl::MutexLock lock(&server->control_mu_);
  const bool tls = !options.tls_cert_file.empty();
  auto pems = std::make_unique<TlsPems>();
  if (tls) {
    server->tls_stamps_ = TlsStamps(options);
    if (absl::Status read = server->ReadTlsFiles(*pems); !read.ok()) return read;
  }
  auto sockets = ConnectionListener::ListenSockets(options.address);
  if (!sockets.ok()) return sockets.status();
  // libmicrohttpd takes one listening socket: the first address's.
  server->listen_fd_ = sockets->front();
  for (size_t i = 1; i < sockets->size(); ++i) close((*sockets)[i]);
  server->port_ = ConnectionListener::PortOf(server->listen_fd_);
  server->daemon_ = server->StartDaemon(server->listen_fd_, *pems);
  if (server->daemon_ == nullptr) {
    return tls ? absl::InvalidArgumentError(absl::StrCat(
                     "cannot start the HTTP port on ", options.address, " with TLS: check that ",
                     options.tls_cert_file, " and ", options.tls_key_file, " are a PEM certificate chain and its key"))
               : absl::UnavailableError(absl::StrCat("cannot start the HTTP port on ", options.address));
  }
  server->pems_ = std::move(pems);
  return server;
}

absl::Status HttpServer::ReloadTlsIfChanged(absl::Duration grace) {
  absl::MutexLock lock(&control_mu_);
  if (daemon_ == nullptr || options_.tls_cert_file.empty()) return absl::OkStatus();
  const std::vector<FileStamp> stamps = TlsStamps(options_);
  if (stamps == tls_stamps_) return absl::OkStatus();
  auto pems = std::make_unique<TlsPems>();
  if (absl::Status read = ReadTlsFiles(*pems); !read.ok()) return read;
  // The new daemon takes the listening socket over; the old one stops
  // accepting and finishes its connections.
  if (MHD_quiesce_daemon(daemon_) < 0) return absl::InternalError("HTTP port TLS reload: cannot quiesce the port");
  MHD_Daemon* renewed = StartDaemon(listen_fd_, *pems);
  if (renewed == nullptr) {
    // The port is to go on: the old certificate, on a daemon of its own.
    renewed = StartDaemon(listen_fd_, *pems_);
    MHD_stop_daemon(daemon_);
    daemon_ = renewed;
    tls_stamps_ = stamps;  // Not retried until the files change again.
    return absl::InvalidArgumentError(absl::StrCat("HTTP port TLS reload: ", options_.tls_cert_file, " and ",
                                                   options_.tls_key_file,
                                                   " are not a PEM certificate chain and its key; kept the previous one"));
  }
  MHD_Daemon* previous = daemon_;
  daemon_ = renewed;
  const absl::Time deadline = absl::Now() + grace;
  while (owed_->load() > 0 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(5));
  MHD_stop_daemon(previous);
  pems_ = std::move(pems);
  tls_stamps_ = stamps;
  return absl::OkStatus();
}

HttpServer::~HttpServer() { Stop(absl::ZeroDuration()); }

void HttpServer::Stop(absl::Duration grace) {
  absl::MutexLock lock(&control_mu_);
  if (daemon_ == nullptr) return;
  // No new connections; those open finish what they have.
  MHD_quiesce_daemon(daemon_);
  const absl::Time deadline = absl::Now() + grace;
  while (owed_->load() > 0 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(5));
  MHD_stop_daemon(daemon_);
  daemon_ = nullptr;
  if (listen_fd_ >= 0) close(listen_fd_);
  listen_fd_ = -1;
}

}  // namespace easymoney
