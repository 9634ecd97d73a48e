#ifndef EASYMONEY_TESTS_TESTING_LOOPBACK_SERVER_H_
#define EASYMONEY_TESTS_TESTING_LOOPBACK_SERVER_H_

#include <string>

#include "absl/time/time.h"
#include "server/recommender_server.h"

namespace easymoney::testing {

// Options of an in-process server for a test: gRPC and /metrics on free
// loopback ports, no polling (tests Rescan or set poll_interval), the audit
// log at `audit_log`, plaintext and no tokens (security_test sets those).
// Header-only: the tests that use it link the server library.
inline RecommenderServer::Options LoopbackServerOptions(const std::string& model_base, const std::string& audit_log) {
  RecommenderServer::Options options;
  options.model_base = model_base;
  options.grpc_address = "127.0.0.1:0";
  options.metrics_address = "127.0.0.1:0";
  options.poll_interval = absl::ZeroDuration();
  options.audit_log_path = audit_log;
  return options;
}

}  // namespace easymoney::testing

#endif  // EASYMONEY_TESTS_TESTING_LOOPBACK_SERVER_H_
