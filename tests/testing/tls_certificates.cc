#include "tests/testing/tls_certificates.h"

#include <fstream>

#include "absl/strings/str_cat.h"
#include "tests/testing/subprocess.h"

namespace easymoney::testing {
namespace {

constexpr char kKey[] = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";

absl::Status Run(const std::string& command) {
  const CommandResult result = RunCommand(command + " 2>&1");
  if (result.exit_code != 0) return absl::InternalError(absl::StrCat(command, " failed:\n", result.output));
  return absl::OkStatus();
}

// A self-signed CA certificate and its key.
absl::Status MakeCa(const std::string& prefix, const std::string& name) {
  return Run(absl::StrCat("openssl req -x509 ", kKey, " -keyout ", prefix, ".key -out ", prefix,
                          ".pem -days 2 -subj /CN=", name));
}

// A certificate for `name` signed by the CA at `ca_prefix`, with `extensions`
// (openssl x509 -extfile syntax) if not empty.
absl::Status MakeLeaf(const std::string& dir, const std::string& prefix, const std::string& ca_prefix,
                      const std::string& name, const std::string& extensions) {
  if (absl::Status status = Run(absl::StrCat("openssl req ", kKey, " -keyout ", prefix, ".key -out ", prefix,
                                             ".csr -subj /CN=", name));
      !status.ok()) {
    return status;
  }
  std::string extfile;
  if (!extensions.empty()) {
    extfile = absl::StrCat(prefix, ".ext");
    std::ofstream(extfile) << extensions << "\n";
  }
  return Run(absl::StrCat("openssl x509 -req -in ", prefix, ".csr -CA ", ca_prefix, ".pem -CAkey ", ca_prefix,
                          ".key -CAcreateserial -CAserial ", dir, "/serial -out ", prefix, ".pem -days 2",
                          extfile.empty() ? "" : absl::StrCat(" -extfile ", extfile)));
}

}  // namespace

absl::StatusOr<TestPki> MakeTestPki(const std::string& dir) {
  const std::string ca = dir + "/ca", other_ca = dir + "/other-ca";
  for (absl::Status status : {MakeCa(ca, "test-ca"), MakeCa(other_ca, "other-ca"),
                              MakeLeaf(dir, dir + "/server", ca, "localhost",
                                       "subjectAltName=DNS:localhost,IP:127.0.0.1"),
                              MakeLeaf(dir, dir + "/client", ca, "web-backend", ""),
                              MakeLeaf(dir, dir + "/stranger", other_ca, "stranger", "")}) {
    if (!status.ok()) return status;
  }
  TestPki pki;
  pki.ca_cert = ca + ".pem";
  pki.server_cert = dir + "/server.pem";
  pki.server_key = dir + "/server.key";
  pki.client_cert = dir + "/client.pem";
  pki.client_key = dir + "/client.key";
  pki.other_ca_cert = other_ca + ".pem";
  pki.stranger_cert = dir + "/stranger.pem";
  pki.stranger_key = dir + "/stranger.key";
  return pki;
}

}  // namespace easymoney::testing
