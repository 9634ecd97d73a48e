#include "tests/testing/subprocess.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <thread>

namespace easymoney::testing {

CommandResult RunCommand(const std::string& command) {
  CommandResult result;
  std::FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buffer;
  size_t got = 0;
  while ((got = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) result.output.append(buffer.data(), got);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

int ConnectLoopback(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

std::string HttpGet(int port, const std::string& path) {
  const int fd = ConnectLoopback(port);
  if (fd < 0) return "ERROR: connect";
  const std::string request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  if (write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) {
    close(fd);
    return "ERROR: write";
  }
  std::string response;
  std::array<char, 8192> buffer;
  ssize_t got = 0;
  while ((got = read(fd, buffer.data(), buffer.size())) > 0) response.append(buffer.data(), static_cast<size_t>(got));
  close(fd);
  const size_t body = response.find("\r\n\r\n");
  if (response.rfind("HTTP/1.", 0) != 0 || body == std::string::npos) return "ERROR: bad response: " + response;
  if (response.find(" 200 ") == std::string::npos) return "ERROR: status: " + response.substr(0, body);
  return response.substr(body + 4);
}

HttpReply HttpExchange(int port, const std::string& raw) {
  HttpReply reply;
  const int fd = ConnectLoopback(port);
  if (fd < 0) {
    reply.body = "connect failed";
    return reply;
  }
  // Written beside the reading: a server may answer before the request has
  // all arrived (a body over its limit) and close, and the answer must be
  // read before the reset that closing with unread data brings.
  std::thread writer([fd, &raw] {
    size_t sent = 0;
    while (sent < raw.size()) {
      const ssize_t wrote = send(fd, raw.data() + sent, raw.size() - sent, MSG_NOSIGNAL);
      if (wrote <= 0) break;
      sent += static_cast<size_t>(wrote);
    }
  });
  std::string response;
  std::array<char, 8192> buffer;
  ssize_t got = 0;
  while ((got = read(fd, buffer.data(), buffer.size())) > 0) response.append(buffer.data(), static_cast<size_t>(got));
  shutdown(fd, SHUT_RDWR);
  writer.join();
  close(fd);
  const size_t end = response.find("\r\n\r\n");
  if (response.rfind("HTTP/1.", 0) != 0 || end == std::string::npos || response.size() < 12) {
    reply.body = "no HTTP reply: " + response;
    return reply;
  }
  reply.status = std::atoi(response.substr(9, 3).c_str());
  reply.headers = response.substr(0, end);
  reply.body = response.substr(end + 4);
  return reply;
}

std::string HttpPost(const std::string& path, const std::string& content_type, const std::string& body,
                     const std::string& extra_headers) {
  return "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: " + content_type +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" + extra_headers + "\r\n" + body;
}

}  // namespace easymoney::testing
