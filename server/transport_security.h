#ifndef EASYMONEY_SERVER_TRANSPORT_SECURITY_H_
#define EASYMONEY_SERVER_TRANSPORT_SECURITY_H_

#include <memory>
#include <string>

#include <grpcpp/security/server_credentials.h>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace easymoney {

// TLS on the gRPC port. The certificate, key and client CA are files that a
// certificate manager rotates in place (a Kubernetes Secret, cert-manager),
// so gRPC's file watcher re-reads them every `refresh_interval`: renewed
// certificates take effect without a restart.
struct TlsSettings {
  std::string cert_file;       // PEM chain, leaf first.
  std::string key_file;        // PEM private key of the leaf.
  std::string client_ca_file;  // Non-empty: mutual TLS, clients must present a certificate this CA signed.
  absl::Duration refresh_interval = absl::Minutes(1);
};

// Server credentials for `tls`, after checking now what gRPC's watcher
// would only log later: the files are readable PEM, the key belongs to the
// certificate, the CA bundle holds a certificate. Errors: NOT_FOUND,
// PERMISSION_DENIED, INVALID_ARGUMENT naming the file and the problem.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> TlsServerCredentialsFor(const TlsSettings& tls);

// When the first (leaf) certificate of the PEM file `cert_file` expires
// (notAfter), for the expiry metric: an expired certificate fails every
// handshake, and nothing else warns before it does. Errors: NOT_FOUND,
// PERMISSION_DENIED, INVALID_ARGUMENT (no PEM certificate, unreadable date).
absl::StatusOr<absl::Time> CertificateExpiry(const std::string& cert_file);

}  // namespace easymoney

#endif  // EASYMONEY_SERVER_TRANSPORT_SECURITY_H_
