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

}  // namespace easymoney::testing

#endif  // EASYMONEY_TESTS_TESTING_SUBPROCESS_H_
