#include "server/transport_security.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>

#include "absl/strings/str_cat.h"

namespace easymoney {
namespace {

absl::StatusOr<std::string> ReadPem(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int error = errno;
    const std::string message = absl::StrCat(what, " ", path, ": ", std::strerror(error));
    return error == EACCES ? absl::PermissionDeniedError(message) : absl::NotFoundError(message);
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Free {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct KeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};

std::unique_ptr<BIO, BioFree> MemoryBio(const std::string& text) {
  return std::unique_ptr<BIO, BioFree>(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

std::unique_ptr<X509, X509Free> FirstCertificate(const std::string& pem) {
  auto bio = MemoryBio(pem);
  return std::unique_ptr<X509, X509Free>(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

}  // namespace

absl::StatusOr<absl::Time> CertificateExpiry(const std::string& cert_file) {
  absl::StatusOr<std::string> pem = ReadPem(cert_file, "TLS certificate");
  if (!pem.ok()) return pem.status();
  const auto leaf = FirstCertificate(*pem);
  ERR_clear_error();
  if (leaf == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("TLS certificate ", cert_file, " holds no PEM certificate"));
  }
  struct tm expiry = {};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(leaf.get()), &expiry) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("TLS certificate ", cert_file, ": unreadable notAfter date"));
  }
  return absl::FromTimeT(timegm(&expiry));
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> TlsServerCredentialsFor(const TlsSettings& tls) {
  if (tls.cert_file.empty() || tls.key_file.empty()) {
    return absl::InvalidArgumentError("TLS needs both a certificate file and a key file");
  }
  absl::StatusOr<std::string> cert = ReadPem(tls.cert_file, "TLS certificate");
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key = ReadPem(tls.key_file, "TLS key");
  if (!key.ok()) return key.status();
  const auto leaf = FirstCertificate(*cert);
  if (leaf == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("TLS certificate ", tls.cert_file, " holds no PEM certificate"));
  }
  auto key_bio = MemoryBio(*key);
  const std::unique_ptr<EVP_PKEY, KeyFree> private_key(
      PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  if (private_key == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("TLS key ", tls.key_file, " holds no unencrypted PEM private key"));
  }
  if (X509_check_private_key(leaf.get(), private_key.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        absl::StrCat("TLS key ", tls.key_file, " does not belong to the certificate in ", tls.cert_file));
  }
  if (!tls.client_ca_file.empty()) {
    absl::StatusOr<std::string> ca = ReadPem(tls.client_ca_file, "client CA");
    if (!ca.ok()) return ca.status();
    if (FirstCertificate(*ca) == nullptr) {
      ERR_clear_error();
      return absl::InvalidArgumentError(absl::StrCat("client CA ", tls.client_ca_file, " holds no PEM certificate"));
    }
  }
  const auto refresh_seconds = static_cast<unsigned int>(std::max<int64_t>(1, absl::ToInt64Seconds(tls.refresh_interval)));
  auto provider = tls.client_ca_file.empty()
                      ? std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
                            tls.key_file, tls.cert_file, refresh_seconds)
                      : std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
                            tls.key_file, tls.cert_file, tls.client_ca_file, refresh_seconds);
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  if (tls.client_ca_file.empty()) {
    options.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  } else {
    options.watch_root_certs();
    options.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  }
  return grpc::experimental::TlsServerCredentials(options);
}

}  // namespace easymoney
