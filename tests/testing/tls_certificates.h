#ifndef EASYMONEY_TESTS_TESTING_TLS_CERTIFICATES_H_
#define EASYMONEY_TESTS_TESTING_TLS_CERTIFICATES_H_

#include <string>

#include "absl/status/statusor.h"

namespace easymoney::testing {

// A throw-away PKI made with the openssl command line: a CA, a server
// certificate for localhost / 127.0.0.1, a client certificate it signed, and
// a second CA with a client certificate of its own (for "a client the server
// does not trust"). P-256 keys, valid for two days. Files are PEM, in `dir`.
struct TestPki {
  std::string ca_cert;
  std::string server_cert, server_key;
  std::string client_cert, client_key;
  std::string other_ca_cert;
  std::string stranger_cert, stranger_key;  // Signed by the other CA.
};

// Errors: INTERNAL with openssl's output when a command fails.
absl::StatusOr<TestPki> MakeTestPki(const std::string& dir);

}  // namespace easymoney::testing

#endif  // EASYMONEY_TESTS_TESTING_TLS_CERTIFICATES_H_
