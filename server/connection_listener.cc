#include "server/connection_listener.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace easymoney {
namespace {

// How long the accepting thread waits after an accept() error it cannot
// work around (ENOBUFS, ENOMEM, EMFILE with the spare descriptor gone).
constexpr int kErrorPauseMs = 100;
// At most one log line about refused connections this often.
constexpr absl::Duration kRefusalLogInterval = absl::Seconds(10);

struct HostPort {
  std::string host;
  std::string port;
};

absl::StatusOr<HostPort> SplitAddress(const std::string& address) {
  HostPort parts;
  if (!address.empty() && address.front() == '[') {
    const size_t close = address.find(']');
    if (close == std::string::npos || close + 1 >= address.size() || address[close + 1] != ':') {
      return absl::InvalidArgumentError(absl::StrCat("address \"", address, "\" is not [v6-host]:port"));
    }
    parts.host = address.substr(1, close - 1);
    parts.port = address.substr(close + 2);
  } else {
    const size_t colon = address.rfind(':');
    if (colon == std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("address \"", address, "\" has no :port"));
    }
    parts.host = address.substr(0, colon);
    parts.port = address.substr(colon + 1);
  }
  int port = 0;
  if (!absl::SimpleAtoi(parts.port, &port) || port < 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("address \"", address, "\" has no port number 0-65535"));
  }
  return parts;
}

// A listening socket bound to `address`, or -1 with errno set.
int ListenOn(const sockaddr* address, socklen_t length, bool dual_stack) {
  const int fd = socket(address->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  const int one = 1;
  const int v6_only = dual_stack ? 0 : 1;
  // SO_REUSEADDR so a restarted server binds while old connections sit in
  // TIME_WAIT. Not SO_REUSEPORT: a second server on the same port should
  // fail to start, not silently take half the connections.
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
      (address->sa_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6_only, sizeof(v6_only)) != 0) ||
      bind(fd, address, length) != 0 || listen(fd, SOMAXCONN) != 0) {
    const int error = errno;
    close(fd);
    errno = error;
    return -1;
  }
  return fd;
}

int BoundPort(int fd) {
  sockaddr_storage bound{};
  socklen_t length = sizeof(bound);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length) != 0) return 0;
  if (bound.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  return ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
}

void SetPort(sockaddr* address, int port) {
  if (address->sa_family == AF_INET) {
    reinterpret_cast<sockaddr_in*>(address)->sin_port = htons(static_cast<uint16_t>(port));
  } else {
    reinterpret_cast<sockaddr_in6*>(address)->sin6_port = htons(static_cast<uint16_t>(port));
  }
}

}  // namespace

int ConnectionListener::DescriptorLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return 1 << 30;
  return static_cast<int>(std::min<rlim_t>(limit.rlim_cur, 1 << 30));
}

int ConnectionListener::DefaultDescriptorReserve(int limit) { return std::clamp(limit / 8, 16, 256); }

absl::StatusOr<std::vector<int>> ConnectionListener::ListenSockets(const std::string& address_text) {
  auto parts = SplitAddress(address_text);
  if (!parts.ok()) return parts.status();
  std::vector<int> fds;
  int port = 0;
  (void)absl::SimpleAtoi(parts->port, &port);

  std::string bind_error;
  const bool wildcard = parts->host.empty() || parts->host == "0.0.0.0" || parts->host == "::" || parts->host == "*";
  if (wildcard) {
    // Like gRPC: a wildcard host takes IPv6 and IPv4 on one dual-stack
    // socket, or IPv4 alone where the host has no IPv6.
    sockaddr_in6 any6{};
    any6.sin6_family = AF_INET6;
    any6.sin6_addr = in6addr_any;
    any6.sin6_port = htons(static_cast<uint16_t>(port));
    int fd = ListenOn(reinterpret_cast<sockaddr*>(&any6), sizeof(any6), /*dual_stack=*/true);
    if (fd < 0 && (errno == EAFNOSUPPORT || errno == EADDRNOTAVAIL)) {
      sockaddr_in any4{};
      any4.sin_family = AF_INET;
      any4.sin_addr.s_addr = htonl(INADDR_ANY);
      any4.sin_port = htons(static_cast<uint16_t>(port));
      fd = ListenOn(reinterpret_cast<sockaddr*>(&any4), sizeof(any4), false);
    }
    if (fd < 0) bind_error = std::strerror(errno);
    if (fd >= 0) fds.push_back(fd);
  } else {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV | AI_ADDRCONFIG;
    addrinfo* found = nullptr;
    const int resolved = getaddrinfo(parts->host.c_str(), parts->port.c_str(), &hints, &found);
    if (resolved != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot resolve \"", parts->host, "\" in \"", address_text, "\": ", gai_strerror(resolved)));
    }
    // Every address the name has ("localhost" is 127.0.0.1 and ::1), on one
    // port: the one the first socket got when the port asked for is 0.
    for (addrinfo* entry = found; entry != nullptr; entry = entry->ai_next) {
      sockaddr_storage address{};
      std::memcpy(&address, entry->ai_addr, entry->ai_addrlen);
      if (port == 0 && !fds.empty()) SetPort(reinterpret_cast<sockaddr*>(&address), BoundPort(fds.front()));
      const int fd = ListenOn(reinterpret_cast<sockaddr*>(&address), entry->ai_addrlen, false);
      if (fd >= 0) {
        fds.push_back(fd);
      } else if (bind_error.empty()) {
        bind_error = std::strerror(errno);
      }
    }
    freeaddrinfo(found);
  }
  if (fds.empty()) return absl::UnavailableError(absl::StrCat("cannot listen on ", address_text, ": ", bind_error));
  return fds;
}

int ConnectionListener::PortOf(int listening_fd) { return BoundPort(listening_fd); }

absl::StatusOr<std::unique_ptr<ConnectionListener>> ConnectionListener::Bind(Options options) {
  auto fds = ListenSockets(options.address);
  if (!fds.ok()) return fds.status();
  std::unique_ptr<ConnectionListener> listener(new ConnectionListener());
  listener->listener_fds_ = *std::move(fds);
  listener->port_ = BoundPort(listener->listener_fds_.front());

  const int limit = DescriptorLimit();
  listener->max_descriptors_ =
      options.max_descriptors > 0 ? options.max_descriptors : limit - DefaultDescriptorReserve(limit);
  listener->on_refused_ = std::move(options.on_refused);
  listener->spare_fd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
  listener->wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (listener->wake_fd_ < 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options.address, ": eventfd: ",
                                               std::strerror(errno)));
  }
  return listener;
}

ConnectionListener::~ConnectionListener() {
  Stop();
  for (int fd : {spare_fd_, wake_fd_}) {
    if (fd >= 0) close(fd);
  }
}

void ConnectionListener::Start(std::unique_ptr<grpc::experimental::ExternalConnectionAcceptor> acceptor) {
  acceptor_ = std::move(acceptor);
  thread_ = std::thread([this] { AcceptLoop(); });
}

void ConnectionListener::Stop() {
  if (thread_.joinable()) {
    const uint64_t one = 1;
    (void)!write(wake_fd_, &one, sizeof(one));
    thread_.join();
  }
  for (int fd : listener_fds_) close(fd);
  listener_fds_.clear();
}

bool ConnectionListener::RefusedRecently(absl::Duration window) const {
  const int64_t last = last_refused_ns_.load(std::memory_order_relaxed);
  return last != 0 && absl::GetCurrentTimeNanos() - last < absl::ToInt64Nanoseconds(window);
}

void ConnectionListener::AcceptLoop() {
  std::vector<pollfd> watched;
  for (int fd : listener_fds_) watched.push_back({fd, POLLIN, 0});
  watched.push_back({wake_fd_, POLLIN, 0});
  bool pause = false;
  while (true) {
    // After an error only the wake descriptor, for a moment; poll() is
    // level-triggered, so a connection still waiting is seen again after.
    const int ready = pause ? poll(&watched.back(), 1, kErrorPauseMs) : poll(watched.data(), watched.size(), -1);
    pause = false;
    if (ready < 0 && errno != EINTR) {
      pause = true;
      continue;
    }
    if (watched.back().revents != 0) return;
    for (size_t i = 0; i + 1 < watched.size(); ++i) {
      if (watched[i].revents == 0) continue;
      watched[i].revents = 0;
      int fd = -1;
      while (true) {
        fd = accept4(watched[i].fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
          if (fd >= max_descriptors_) {
            Refuse(fd);
            continue;
          }
          // gRPC's own listener sets this on its sockets: without it small
          // answers wait for Nagle's delay.
          const int one = 1;
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
          grpc::experimental::ExternalConnectionAcceptor::NewConnectionParameters connection;
          connection.listener_fd = watched[i].fd;
          connection.fd = fd;
          acceptor_->HandleNewConnection(&connection);
          continue;
        }
        if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        if ((errno == EMFILE || errno == ENFILE) && spare_fd_ >= 0) {
          // Give up the spare for the waiting connection, close that, and
          // take the spare back: the queue moves on and its clients learn
          // at once instead of timing out.
          close(spare_fd_);
          const int waiting = accept4(watched[i].fd, nullptr, nullptr, SOCK_CLOEXEC);
          spare_fd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
          if (waiting >= 0) {
            Refuse(waiting);
            continue;
          }
        }
        if (errno == EMFILE || errno == ENFILE) {
          last_refused_ns_.store(absl::GetCurrentTimeNanos(), std::memory_order_relaxed);
        }
        pause = true;
        break;
      }
    }
  }
}

void ConnectionListener::Refuse(int fd) {
  // A reset rather than an orderly close: the client fails over at once,
  // and the socket leaves no TIME_WAIT behind.
  const linger reset{.l_onoff = 1, .l_linger = 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
  close(fd);
  const int64_t now = absl::GetCurrentTimeNanos();
  const int64_t last = last_refused_ns_.exchange(now, std::memory_order_relaxed);
  refused_.fetch_add(1, std::memory_order_relaxed);
  if (now - last >= absl::ToInt64Nanoseconds(kRefusalLogInterval)) {
    std::fprintf(stderr,
                 "recommender-server: refusing connections on port %d: the process holds nearly as many descriptors "
                 "as its limit allows (%lld refused so far)\n",
                 port_, static_cast<long long>(refused_.load(std::memory_order_relaxed)));
  }
  if (on_refused_) on_refused_();
}

}  // namespace easymoney
