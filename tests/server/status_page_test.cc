#include "server/status_page.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

namespace easymoney {
namespace {

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // Names lower-cased.
  std::string body;

  // The value of header `name` (lower case), empty when absent.
  std::string Header(const std::string& name) const {
    const auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

// One HTTP/1.1 request over a fresh loopback connection, read until the
// server closes it. The test fails (and the response has status 0) on a
// socket error or a malformed answer.
HttpResponse Fetch(int port, const std::string& method, const std::string& target) {
  HttpResponse response;
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    ADD_FAILURE() << "socket() failed";
    return response;
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    close(fd);
    ADD_FAILURE() << "cannot connect to 127.0.0.1:" << port;
    return response;
  }
  const std::string request =
      method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  for (size_t sent = 0; sent < request.size();) {
    const ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  std::string raw;
  char buffer[16384];
  for (ssize_t n; (n = recv(fd, buffer, sizeof(buffer), 0)) > 0;) raw.append(buffer, static_cast<size_t>(n));
  close(fd);

  const size_t end_of_headers = raw.find("\r\n\r\n");
  if (end_of_headers == std::string::npos) {
    ADD_FAILURE() << method << " " << target << ": no complete header in '" << raw << "'";
    return response;
  }
  std::vector<std::string> lines = absl::StrSplit(raw.substr(0, end_of_headers), "\r\n");
  std::vector<std::string> status_line = absl::StrSplit(lines[0], ' ');
  if (status_line.size() < 2 || !absl::SimpleAtoi(status_line[1], &response.status)) {
    ADD_FAILURE() << "bad status line '" << lines[0] << "'";
  }
  for (size_t i = 1; i < lines.size(); ++i) {
    const size_t colon = lines[i].find(':');
    if (colon == std::string::npos) continue;
    response.headers[absl::AsciiStrToLower(lines[i].substr(0, colon))] =
        std::string(absl::StripAsciiWhitespace(lines[i].substr(colon + 1)));
  }
  response.body = raw.substr(end_of_headers + 4);
  return response;
}

// A real exposer with the status page's callbacks and a registry holding a
// few of the server's metrics, shared by the suite's tests (stopping
// CivetWeb takes about 2 s).
class StatusPageTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    exposer_ = std::make_unique<prometheus::Exposer>("127.0.0.1:0", /*num_threads=*/1, StatusPageCallbacks());
    registry_ = std::make_shared<prometheus::Registry>();
    prometheus::Registry& registry = *registry_;
    exposer_->RegisterCollectable(registry_);
    auto& info = prometheus::BuildGauge().Name("recommender_model_info").Help("serving").Register(registry);
    info.Add({{"version", "7"}, {"variant", "stable"}}).Set(1);
    info.Add({{"version", "8"}, {"variant", "canary"}}).Set(1);
    auto& requests = prometheus::BuildCounter().Name("recommender_requests_total").Help("calls").Register(registry);
    requests.Add({{"method", "RecommendProducts"}, {"code", "OK"}, {"model_version", "7"}, {"variant", "stable"}})
        .Increment(42);
    auto& feedback =
        prometheus::BuildCounter().Name("recommender_feedback_events_total").Help("events").Register(registry);
    feedback.Add({{"event", "impression"}, {"model_version", "8"}, {"variant", "canary"}}).Increment(10);
    prometheus::BuildGauge()
        .Name("recommender_cluster_psi")
        .Help("psi")
        .Register(registry)
        .Add({{"model_version", "7"}})
        .Set(0.25);
    prometheus::BuildHistogram()
        .Name("recommender_request_duration_seconds")
        .Help("latency")
        .Register(registry)
        .Add({{"method", "RecommendProducts"}, {"model_version", "7"}, {"variant", "stable"}},
             prometheus::Histogram::BucketBoundaries{0.0001, 0.001})
        .Observe(0.00005);
  }

  static void TearDownTestSuite() {
    exposer_.reset();
    registry_.reset();
  }

  void SetUp() override {
    const std::vector<int> ports = exposer_->GetListeningPorts();
    ASSERT_EQ(ports.size(), 1u);
    port_ = ports[0];
  }

  static inline std::unique_ptr<prometheus::Exposer> exposer_;
  static inline std::shared_ptr<prometheus::Registry> registry_;
  int port_ = 0;
};

TEST_F(StatusPageTest, ServesThePageAsUncachedHtmlWithItsLength) {
  const HttpResponse response = Fetch(port_, "GET", "/status");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.Header("content-type"), "text/html; charset=utf-8");
  EXPECT_EQ(response.Header("cache-control"), "no-store");
  EXPECT_EQ(response.Header("content-length"), std::to_string(StatusPageHtml().size()));
  EXPECT_EQ(response.body, std::string(StatusPageHtml()));
}

TEST_F(StatusPageTest, ForbidsLoadingAnythingButItsOwnOriginsMetrics) {
  const HttpResponse response = Fetch(port_, "GET", "/status");
  const std::string policy = response.Header("content-security-policy");
  EXPECT_NE(policy.find("default-src 'none'"), std::string::npos) << policy;
  EXPECT_NE(policy.find("connect-src 'self'"), std::string::npos) << policy;
  EXPECT_EQ(response.Header("x-content-type-options"), "nosniff");
}

TEST_F(StatusPageTest, ServesThePageWithATrailingSlashOrAQuery) {
  for (const char* target : {"/status/", "/status?refresh=1"}) {
    const HttpResponse response = Fetch(port_, "GET", target);
    EXPECT_EQ(response.status, 200) << target;
    EXPECT_EQ(response.body, std::string(StatusPageHtml())) << target;
  }
}

TEST_F(StatusPageTest, AnswersHeadWithTheHeadersOnly) {
  const HttpResponse response = Fetch(port_, "HEAD", "/status");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.Header("content-length"), std::to_string(StatusPageHtml().size()));
  EXPECT_EQ(response.body, "");
}

TEST_F(StatusPageTest, RefusesOtherMethods) {
  const HttpResponse response = Fetch(port_, "POST", "/status");
  EXPECT_EQ(response.status, 405);
  EXPECT_EQ(response.Header("allow"), "GET, HEAD");
}

TEST_F(StatusPageTest, MetricsAreStillServedBesideThePage) {
  const HttpResponse response = Fetch(port_, "GET", "/metrics");
  EXPECT_EQ(response.status, 200);
  EXPECT_NE(response.Header("content-type").find("text/plain"), std::string::npos);
  EXPECT_NE(response.body.find("recommender_model_info{variant=\"canary\",version=\"8\"} 1"), std::string::npos)
      << response.body;
  EXPECT_NE(response.body.find("recommender_requests_total{code=\"OK\",method=\"RecommendProducts\","
                               "model_version=\"7\",variant=\"stable\"} 42"),
            std::string::npos)
      << response.body;
  EXPECT_NE(response.body.find("recommender_request_duration_seconds_bucket{"), std::string::npos);
}

TEST_F(StatusPageTest, OtherPathsAreNotThePage) {
  for (const char* target : {"/", "/statusx", "/status/metrics", "/metrics/status"}) {
    const HttpResponse response = Fetch(port_, "GET", target);
    EXPECT_EQ(response.body.find("<!DOCTYPE html>"), std::string::npos) << target;
    EXPECT_NE(response.Header("content-type"), "text/html; charset=utf-8") << target;
  }
  EXPECT_EQ(Fetch(port_, "GET", "/statusx").status, 404);
}

TEST(StatusPageHtmlTest, IsSelfContained) {
  const std::string html(StatusPageHtml());
  for (const char* outside : {"http:", "https:", "src=", "<link", "@import", "url("}) {
    EXPECT_EQ(html.find(outside), std::string::npos) << "the page refers to something outside it: " << outside;
  }
}

TEST(StatusPageHtmlTest, ReadsTheServersMetricsAndShowsTheThreeTables) {
  const std::string html(StatusPageHtml());
  for (const char* marker :
       {"<table id=\"versions\">", "<table id=\"kpis\">", "<table id=\"drift\">", "id=\"updated\"",
        "recommender_model_info", "recommender_model_trained_timestamp_seconds",
        "recommender_model_loaded_timestamp_seconds", "recommender_requests_total",
        "recommender_request_duration_seconds_bucket", "recommender_feedback_events_total",
        "recommender_cold_start_requests_total", "recommender_cluster_psi", "recommender_feature_psi",
        "recommender_cluster_reassigned_ratio", "recommender_model_load_failures_total",
        "recommender_canary_auto_rollbacks_total"}) {
    EXPECT_NE(html.find(marker), std::string::npos) << marker;
  }
}

}  // namespace
}  // namespace easymoney
