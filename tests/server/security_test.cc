// Protection of the gRPC port, over real loopback TLS with certificates made
// by openssl (docs/reliability.md, "Protection"): TLS and mutual TLS, bearer
// tokens with roles, the token file re-read on change, refusals audited and
// counted in /metrics, and the binary refusing to start unprotected unless
// told to.

#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "client/recommender_client.h"
#include "core/auth/access_tokens.h"
#include "core/model/model_directory.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/recommender_server.h"
#include "tests/testing/feedback_about.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/loopback_server.h"
#include "tests/testing/test_model.h"
#include "tests/testing/tls_certificates.h"

namespace easymoney {
namespace {

namespace fs = std::filesystem;
namespace v1 = easymoney::recommender::v1;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kWebToken[] = "web-backend-token-0123456789";

ChannelSecurity Security(const std::string& ca, const std::string& token, const std::string& cert = "",
                         const std::string& key = "") {
  ChannelSecurity security;
  security.ca_file = ca;
  security.token = token;
  security.cert_file = cert;
  security.key_file = key;
  return security;
}

TlsSettings Tls(const std::string& cert, const std::string& key, const std::string& client_ca = "") {
  TlsSettings tls;
  tls.cert_file = cert;
  tls.key_file = key;
  tls.client_ca_file = client_ca;
  return tls;
}
constexpr char kOpsToken[] = "ops-token-9876543210";

// Serves the hand-made test model (customers 10, 20, 30) over mutual TLS
// with a token file, an audit log and an event log.
class SecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("security");
    auto pki = testing::MakeTestPki(dir_);
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = *std::move(pki);
    const testing::TestModel model = testing::MakeTestModel();
    ASSERT_TRUE(WriteModelVersion(dir_ + "/models", model.manifest, model.arrays).ok());
    WriteTokens(*AccessTokenLine(kWebToken, "web", "recommend") + "\n" +
                *AccessTokenLine(kOpsToken, "ops", "admin") + "\n");
  }
  void TearDown() override {
    server_.reset();
    fs::remove_all(dir_);
  }

  void WriteTokens(const std::string& text) {
    const std::string aside = dir_ + "/tokens.new";
    std::ofstream(aside) << text;
    ::chmod(aside.c_str(), 0600);
    fs::rename(aside, tokens_path());
  }
  std::string tokens_path() const { return dir_ + "/tokens"; }

  void StartServer(bool mutual_tls, absl::Duration poll = absl::ZeroDuration(), bool health_port = false) {
    RecommenderServer::Options options = testing::LoopbackServerOptions(dir_ + "/models", dir_ + "/audit.log");
    options.poll_interval = poll;
    options.event_log_dir = dir_ + "/events";
    options.tls = Tls(pki_.server_cert, pki_.server_key, mutual_tls ? pki_.ca_cert : "");
    options.auth_token_file = tokens_path();
    if (health_port) options.health_address = "127.0.0.1:0";
    auto server = RecommenderServer::Create(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  std::unique_ptr<RecommenderClient> Client(ChannelSecurity security) {
    RecommenderClient::Options options;
    options.target = absl::StrCat("127.0.0.1:", server_->port());
    options.timeout = absl::Seconds(5);
    options.security = std::move(security);
    auto client = RecommenderClient::Create(options);
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? *std::move(client) : nullptr;
  }
  ChannelSecurity Trusted(const std::string& token = kWebToken) const {
    return Security(pki_.ca_cert, token, pki_.client_cert, pki_.client_key);
  }

  static absl::Status Ask(const RecommenderClient& client) {
    v1::RecommendProductsRequest request;
    request.set_customer_id("10");
    return client.Recommend(request).status();
  }

  std::string Metrics() const { return testing::HttpGet(server_->metrics_port(), "/metrics"); }
  std::string Audit() const {
    std::ifstream in(dir_ + "/audit.log");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  std::string dir_;
  testing::TestPki pki_;
  std::unique_ptr<RecommenderServer> server_;
};

TEST_F(SecurityTest, TlsServesTrustingClientsAndRefusesPlaintext) {
  StartServer(/*mutual_tls=*/false);
  auto tls = Client(Security(pki_.ca_cert, kWebToken));
  EXPECT_TRUE(Ask(*tls).ok()) << Ask(*tls);

  auto plaintext = Client(Security("", kWebToken));
  EXPECT_EQ(Ask(*plaintext).code(), absl::StatusCode::kUnavailable);
  // A client that does not trust the server's CA does not talk to it.
  auto wrong_ca = Client(Security(pki_.other_ca_cert, kWebToken));
  EXPECT_EQ(Ask(*wrong_ca).code(), absl::StatusCode::kUnavailable);
}

// The test certificates are made valid for two days: the expiry metric
// says when, to the second openssl wrote.
TEST_F(SecurityTest, MetricsSayWhenTheCertificateExpires) {
  StartServer(/*mutual_tls=*/false);
  const std::string metrics = Metrics();
  const std::string name = "recommender_tls_certificate_expiry_timestamp_seconds ";
  const size_t at = metrics.find("\n" + name);
  ASSERT_NE(at, std::string::npos) << metrics;
  const double expiry = std::strtod(metrics.c_str() + at + 1 + name.size(), nullptr);
  const double in_two_days = absl::ToDoubleSeconds(absl::Now() + absl::Hours(48) - absl::UnixEpoch());
  EXPECT_NEAR(expiry, in_two_days, 600);
}

TEST_F(SecurityTest, MutualTlsRequiresAClientCertificateFromTheTrustedCa) {
  StartServer(/*mutual_tls=*/true);
  EXPECT_TRUE(Ask(*Client(Trusted())).ok());
  auto no_certificate = Client(Security(pki_.ca_cert, kWebToken));
  EXPECT_EQ(Ask(*no_certificate).code(), absl::StatusCode::kUnavailable);
  auto stranger = Client(Security(pki_.ca_cert, kWebToken, pki_.stranger_cert, pki_.stranger_key));
  EXPECT_EQ(Ask(*stranger).code(), absl::StatusCode::kUnavailable);
  // The server went on serving trusted clients.
  EXPECT_TRUE(Ask(*Client(Trusted())).ok());
}

TEST_F(SecurityTest, TokensAndRolesDecideEveryMethod) {
  StartServer(/*mutual_tls=*/true);
  auto web = Client(Trusted(kWebToken));
  auto ops = Client(Trusted(kOpsToken));
  auto anonymous = Client(Trusted(""));
  auto forged = Client(Trusted("not-a-token"));

  const absl::Status missing = Ask(*anonymous);
  EXPECT_EQ(missing.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(missing.message(), HasSubstr("Bearer"));
  const absl::Status unknown = Ask(*forged);
  EXPECT_EQ(unknown.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(unknown.message(), Not(HasSubstr("not-a-token"))) << "a refusal must not echo the token";
  const absl::Status admin_asks = Ask(*ops);
  EXPECT_EQ(admin_asks.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(admin_asks.message(), HasSubstr("\"ops\" lacks the recommend role"));

  // Every Recommender method needs the recommend role...
  EXPECT_TRUE(Ask(*web).ok());
  v1::RecommendProductsBatchRequest batch;
  batch.add_requests()->set_customer_id("20");
  EXPECT_TRUE(web->RecommendBatch(batch).ok());
  EXPECT_EQ(anonymous->RecommendBatch(batch).status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(web->GetModelInfo().ok());
  EXPECT_EQ(ops->GetModelInfo().status().code(), absl::StatusCode::kPermissionDenied);
  v1::RecommendProductsRequest ask;
  ask.set_customer_id("10");
  auto answer = web->Recommend(ask);
  ASSERT_TRUE(answer.ok()) << answer.status();
  ASSERT_GT(answer->products_size(), 0);
  const v1::ReportFeedbackRequest feedback = testing::FeedbackAbout(*answer, "10", v1::FEEDBACK_EVENT_CLICK);
  EXPECT_EQ(forged->ReportFeedback(feedback).status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(web->ReportFeedback(feedback).ok());

  // ...every ModelAdmin method the admin role.
  EXPECT_EQ(web->ListVersions().status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(web->Rollback().status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(anonymous->Rescan().status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(ops->ListVersions().ok());
  EXPECT_TRUE(ops->Rescan().ok());

  // Health answers without a token: probes and load balancers carry none.
  auto health = anonymous->CheckHealth();
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(*health, grpc::health::v1::HealthCheckResponse::SERVING);

  const std::string metrics = Metrics();
  EXPECT_THAT(metrics, HasSubstr(R"(recommender_auth_refusals_total{reason="missing_token",role="recommend"} 2)"));
  EXPECT_THAT(metrics, HasSubstr(R"(recommender_auth_refusals_total{reason="unknown_token",role="recommend"} 2)"));
  EXPECT_THAT(metrics, HasSubstr(R"(recommender_auth_refusals_total{reason="wrong_role",role="recommend"} 2)"));
  EXPECT_THAT(metrics, HasSubstr(R"(recommender_auth_refusals_total{reason="wrong_role",role="admin"} 2)"));
  EXPECT_THAT(metrics, HasSubstr(R"(recommender_auth_refusals_total{reason="missing_token",role="admin"} 1)"));
  EXPECT_THAT(metrics, HasSubstr("recommender_auth_tokens 2"));

  // Refused admin calls are audited under the caller's name; accepted ones
  // under the token's name.
  const std::string audit = Audit();
  EXPECT_THAT(audit, HasSubstr(R"("who":"web","action":"ListVersions","detail":"refused before any change","result":"PERMISSION_DENIED")"));
  EXPECT_THAT(audit, HasSubstr(R"("who":"web","action":"Rollback","detail":"refused before any change","result":"PERMISSION_DENIED")"));
  EXPECT_THAT(audit, HasSubstr(R"("action":"Rescan","detail":"refused before any change","result":"UNAUTHENTICATED")"));
  EXPECT_THAT(audit, HasSubstr(R"("who":"ops","action":"Rescan","detail":"","result":"OK")"));
  EXPECT_THAT(audit, Not(HasSubstr(kWebToken)));
  EXPECT_THAT(audit, Not(HasSubstr(kOpsToken)));
}

TEST_F(SecurityTest, OperatorClaimIsRecordedAfterTheTokensName) {
  StartServer(/*mutual_tls=*/false);
  RecommenderClient::Options options;
  options.target = absl::StrCat("127.0.0.1:", server_->port());
  options.operator_name = "alice";
  options.security = Security(pki_.ca_cert, kOpsToken);
  auto client = RecommenderClient::Create(options);
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE((*client)->Rescan().ok());
  EXPECT_THAT(Audit(), HasSubstr(R"("who":"ops/alice","action":"Rescan")"));
}

TEST_F(SecurityTest, TokenFileChangesTakeEffectWithoutRestart) {
  StartServer(/*mutual_tls=*/false, /*poll=*/absl::Seconds(1));
  auto web = Client(Security(pki_.ca_cert, kWebToken));
  auto fresh = Client(Security(pki_.ca_cert, "fresh-token-abcdef"));
  ASSERT_TRUE(Ask(*web).ok());
  ASSERT_EQ(Ask(*fresh).code(), absl::StatusCode::kUnauthenticated);

  // Revoke web, add a new backend token. The server looks once a second.
  WriteTokens(*AccessTokenLine("fresh-token-abcdef", "web-2", "recommend") + "\n");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!Ask(*fresh).ok() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(Ask(*fresh).ok());
  EXPECT_EQ(Ask(*web).code(), absl::StatusCode::kUnauthenticated) << "revoked";

  // A broken file is refused: the tokens in force stay, the refusal is
  // counted and audited.
  WriteTokens("sha256:broken fresh recommend\n");
  const auto refused_by = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (Metrics().find(R"(recommender_auth_token_reloads_total{result="refused"} 1)") == std::string::npos &&
         std::chrono::steady_clock::now() < refused_by) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_THAT(Metrics(), HasSubstr(R"(recommender_auth_token_reloads_total{result="refused"} 1)"));
  EXPECT_THAT(Metrics(), HasSubstr("recommender_auth_token_file_refused 1"));
  EXPECT_TRUE(Ask(*fresh).ok()) << "a broken token file must not lock backends out";
  const std::string audit = Audit();
  EXPECT_THAT(audit, HasSubstr(R"("who":"token-file","action":"ReloadTokens")"));
  EXPECT_THAT(audit, HasSubstr("64 lower-case hex"));

  // Mended: taken, and the refusal gauge clears.
  WriteTokens(*AccessTokenLine("fresh-token-abcdef", "web-2", "recommend") + "\n" +
              *AccessTokenLine("second-token-abcdef", "web-3", "recommend") + "\n");
  const auto mended_by = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (Metrics().find("recommender_auth_tokens 2") == std::string::npos &&
         std::chrono::steady_clock::now() < mended_by) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_THAT(Metrics(), HasSubstr("recommender_auth_tokens 2"));
  EXPECT_THAT(Metrics(), HasSubstr("recommender_auth_token_file_refused 0"));
}

// Probes inside the container have neither client certificate nor token:
// the health port answers them in plaintext, and serves nothing else.
TEST_F(SecurityTest, HealthPortAnswersProbesAndNothingElse) {
  StartServer(/*mutual_tls=*/true, absl::ZeroDuration(), /*health_port=*/true);
  ASSERT_NE(server_->health_port(), 0);
  RecommenderClient::Options options;
  options.target = absl::StrCat("127.0.0.1:", server_->health_port());
  auto probe = RecommenderClient::Create(options);
  ASSERT_TRUE(probe.ok());
  auto health = (*probe)->CheckHealth();
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(*health, grpc::health::v1::HealthCheckResponse::SERVING);
  EXPECT_EQ(Ask(**probe).code(), absl::StatusCode::kUnimplemented);
  EXPECT_EQ((*probe)->ListVersions().status().code(), absl::StatusCode::kUnimplemented);
  server_->Shutdown(absl::ZeroDuration());
  auto after = (*probe)->CheckHealth();
  EXPECT_TRUE(!after.ok() || *after == grpc::health::v1::HealthCheckResponse::NOT_SERVING);
}

// docs/api.md promises the service by its name as well as the whole server
// (""), on the main port and the health port alike.
TEST_F(SecurityTest, HealthAnswersForTheRecommenderServiceByName) {
  StartServer(/*mutual_tls=*/false, absl::ZeroDuration(), /*health_port=*/true);
  RecommenderClient::Options options;
  options.target = absl::StrCat("127.0.0.1:", server_->health_port());
  auto probe = RecommenderClient::Create(options);
  ASSERT_TRUE(probe.ok());
  auto main_port = Client(Security(pki_.ca_cert, ""));
  for (const RecommenderClient* client : {probe->get(), main_port.get()}) {
    auto health = client->CheckHealth("easymoney.recommender.v1.Recommender");
    ASSERT_TRUE(health.ok()) << health.status();
    EXPECT_EQ(*health, grpc::health::v1::HealthCheckResponse::SERVING);
    EXPECT_EQ(client->CheckHealth("easymoney.recommender.v1.NoSuchService").status().code(),
              absl::StatusCode::kNotFound);
  }
  server_->Shutdown(absl::ZeroDuration());
  auto after = (*probe)->CheckHealth("easymoney.recommender.v1.Recommender");
  EXPECT_TRUE(!after.ok() || *after == grpc::health::v1::HealthCheckResponse::NOT_SERVING);
}

TEST_F(SecurityTest, ServerRefusesBrokenTlsFilesAtStart) {
  RecommenderServer::Options options = testing::LoopbackServerOptions(dir_ + "/models", dir_ + "/audit.log");
  // The client's key with the server's certificate.
  options.tls = Tls(pki_.server_cert, pki_.client_key);
  auto mismatched = RecommenderServer::Create(options);
  ASSERT_FALSE(mismatched.ok());
  EXPECT_THAT(mismatched.status().message(), HasSubstr("does not belong to the certificate"));
  options.tls = Tls(pki_.server_key, pki_.server_key);
  EXPECT_THAT(RecommenderServer::Create(options).status().message(), HasSubstr("holds no PEM certificate"));
  options.tls = Tls(dir_ + "/missing.pem", pki_.server_key);
  EXPECT_EQ(RecommenderServer::Create(options).status().code(), absl::StatusCode::kNotFound);
  options.tls = Tls(pki_.server_cert, pki_.server_key, /*client_ca=*/pki_.server_key);
  EXPECT_THAT(RecommenderServer::Create(options).status().message(), HasSubstr("client CA"));
  options.tls.reset();
  options.auth_token_file = dir_ + "/no-such-tokens";
  EXPECT_EQ(RecommenderServer::Create(options).status().code(), absl::StatusCode::kNotFound);
}

// The binary serves plaintext or without tokens only when told so.
TEST_F(SecurityTest, BinaryRefusesToStartUnprotectedUnlessAsked) {
  const std::string base = absl::StrCat(SERVER_BINARY, " --model-base ", dir_, "/models --port 0 --metrics-port 0 ");
  testing::CommandResult result = testing::RunCommand(base + "2>&1");
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.output, HasSubstr("no TLS certificate"));
  result = testing::RunCommand(base + "--plaintext 2>&1");
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.output, HasSubstr("no --auth-token-file"));
  result = testing::RunCommand(base + "--plaintext --tls-client-ca-file " + pki_.ca_cert + " --allow-unauthenticated 2>&1");
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.output, HasSubstr("needs TLS"));
  result = testing::RunCommand(base + "--plaintext --auth-token-file " + tokens_path() + " --allow-unauthenticated 2>&1");
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.output, HasSubstr("contradict"));
}

}  // namespace
}  // namespace easymoney
