#ifndef EASYMONEY_TESTS_TESTING_SUBPROCESS_H_
#define EASYMONEY_TESTS_TESTING_SUBPROCESS_H_

#include <string>

namespace easymoney::testing {

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr, interleaved.
};

// Runs `command` through /bin/sh and captures its output.
CommandResult RunCommand(const std::string& command);

// A TCP connection to 127.0.0.1:<port> (the caller closes it), or -1.
int ConnectLoopback(int port);

// GET http://127.0.0.1:<port><path> over a plain socket; returns the body,
// or a string starting with "ERROR:" on failure.
std::string HttpGet(int port, const std::string& path);

// One HTTP exchange over a plain loopback socket: `raw` is sent as it is
// and the reply read until the server closes the connection (send
// "Connection: close"). status 0: no HTTP reply (`body` says what went wrong).
struct HttpReply {
  int status = 0;
  std::string headers;  // The status line and headers, as received.
  std::string body;
};
HttpReply HttpExchange(int port, const std::string& raw);

// A POST of `body` to `path` with `content_type` and any `extra_headers`
// ("Name: value\r\n" each), HTTP/1.1, Connection: close.
std::string HttpPost(const std::string& path, const std::string& content_type, const std::string& body,
                     const std::string& extra_headers = "");

}  // namespace easymoney::testing

#endif  // EASYMONEY_TESTS_TESTING_SUBPROCESS_H_
