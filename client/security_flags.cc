#include "client/security_flags.h"

#include <cstdlib>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"

ABSL_FLAG(bool, tls, false, "Connect with TLS, verifying the server against the system's CA roots.");
ABSL_FLAG(std::string, tls_ca, "", "Connect with TLS, verifying the server against this CA bundle (PEM).");
ABSL_FLAG(std::string, tls_cert, "", "Client certificate (PEM) for servers that require mutual TLS.");
ABSL_FLAG(std::string, tls_key, "", "Private key (PEM) of --tls-cert.");
ABSL_FLAG(std::string, token_file, "",
          "File holding the bearer token to send (see `recommender-cli token`); default: $RECOMMENDER_TOKEN.");

namespace easymoney {

absl::StatusOr<ChannelSecurity> ChannelSecurityFromFlags() {
  ChannelSecurity security;
  security.tls = absl::GetFlag(FLAGS_tls);
  security.ca_file = absl::GetFlag(FLAGS_tls_ca);
  security.cert_file = absl::GetFlag(FLAGS_tls_cert);
  security.key_file = absl::GetFlag(FLAGS_tls_key);
  if (const std::string path = absl::GetFlag(FLAGS_token_file); !path.empty()) {
    absl::StatusOr<std::string> token = ReadToken(path);
    if (!token.ok()) return token.status();
    security.token = *std::move(token);
  } else if (const char* env = std::getenv("RECOMMENDER_TOKEN"); env != nullptr) {
    // A token on the command line would show in `ps`; the environment does not.
    security.token = std::string(absl::StripAsciiWhitespace(env));
  }
  return security;
}

}  // namespace easymoney
