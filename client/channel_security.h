#ifndef EASYMONEY_CLIENT_CHANNEL_SECURITY_H_
#define EASYMONEY_CLIENT_CHANNEL_SECURITY_H_

#include <memory>
#include <string>

#include <grpcpp/security/credentials.h>

#include "absl/status/statusor.h"

namespace easymoney {

// How a client reaches a recommender-server: TLS or plaintext, the client
// certificate for mutual TLS, and the bearer token sent with every call.
//
//   ChannelSecurity security;
//   security.ca_file = "/etc/recommender/ca.pem";   // implies TLS
//   security.token = *ReadToken("/etc/recommender/web.token");
//   auto credentials = ChannelCredentialsFor(security);
//
// Thread-compatible value type.
struct ChannelSecurity {
  // TLS, verified against the system's roots unless `ca_file` names the CA
  // bundle. Any of the file fields below also turns TLS on.
  bool tls = false;
  std::string ca_file;
  // Client certificate and key (PEM), for servers that require mutual TLS.
  std::string cert_file;
  std::string key_file;
  // Bearer token ("authorization: Bearer <token>" on every call); empty:
  // none.
  std::string token;

  bool UsesTls() const { return tls || !ca_file.empty() || !cert_file.empty() || !key_file.empty(); }
};

// Channel credentials for `security`: TLS ones when UsesTls(), else
// plaintext. Errors: INVALID_ARGUMENT when only one of cert/key is given,
// NOT_FOUND / PERMISSION_DENIED for unreadable files.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> ChannelCredentialsFor(const ChannelSecurity& security);

// The token stored in `path` (surrounding whitespace dropped). Errors:
// NOT_FOUND, PERMISSION_DENIED, INVALID_ARGUMENT for an empty file.
absl::StatusOr<std::string> ReadToken(const std::string& path);

// The text of `path` (PEM files, token files). Errors: NOT_FOUND,
// PERMISSION_DENIED, INVALID_ARGUMENT when empty.
absl::StatusOr<std::string> ReadSmallFile(const std::string& path, const char* what);

}  // namespace easymoney

#endif  // EASYMONEY_CLIENT_CHANNEL_SECURITY_H_
