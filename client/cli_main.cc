// recommender-cli: query a recommender-server from the shell.

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>


#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "client/recommender_client.h"
#include "client/security_flags.h"
#include "core/auth/access_tokens.h"
#include "core/util/proto_json.h"
#include "core/util/tool_flags.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051",
          "gRPC target of the server, e.g. 127.0.0.1:50051, dns:///recommender-headless:50051, or a list "
          "ipv4:10.0.0.5:50051,10.0.0.6:50051.");
ABSL_FLAG(std::string, lb_policy, "",
          "Load-balancing policy over the addresses the target resolves to: round_robin or pick_first; empty: "
          "round_robin when --target lists several addresses, else gRPC's default (pick_first).");
ABSL_FLAG(std::string, customer, "", "recommend: customer id (easyMoney pk_cid).");
ABSL_FLAG(int, n, 0, "recommend: number of products (0: the server's default, 5).");
ABSL_FLAG(bool, include_held, false, "recommend: include products the customer already holds.");
ABSL_FLAG(std::string, holdings, "",
          "recommend: comma-separated product ids the customer holds now (overrides the model's "
          "snapshot); use --holdings=none for 'holds nothing'.");
ABSL_FLAG(bool, json, false, "Print the response as JSON instead of a table.");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(5), "Deadline per call.");
ABSL_FLAG(int64_t, stable, 0, "models route: stable version (0 keeps the current one, -1 follows the version policy).");
ABSL_FLAG(int64_t, canary, 0, "models route: canary version (0 ends the rollout).");
ABSL_FLAG(double, percent, 0, "models route: share of customers routed to the canary, 0..100.");
ABSL_FLAG(std::string, salt, "", "models route: rollout salt (empty keeps the current one).");
ABSL_FLAG(int64_t, shadow, 0, "models route: shadow version, scored on --shadow-percent of requests, never returned.");
ABSL_FLAG(double, shadow_percent, 0, "models route: share of requests also scored by the shadow version.");
ABSL_FLAG(bool, auto_rollback, false, "models route: end the rollout automatically when the canary is worse.");
ABSL_FLAG(int, window_seconds, 0, "models route --auto-rollback: analysis window (0: 60).");
ABSL_FLAG(int64_t, min_requests, 0, "models route --auto-rollback: requests per variant before a verdict (0: 100).");
ABSL_FLAG(double, max_error_increase, 0,
          "models route --auto-rollback: tolerated server-error ratio increase, absolute (0: 0.01).");
ABSL_FLAG(double, max_p99_ratio, 0, "models route --auto-rollback: tolerated canary/stable p99 ratio (0: 1.5).");
ABSL_FLAG(std::string, request_id, "", "feedback: request_id of the answer the product came from.");
ABSL_FLAG(int64_t, model_version, 0, "feedback: model_version of that answer.");
ABSL_FLAG(std::string, variant, "stable", "feedback: variant of that answer, stable or canary.");
ABSL_FLAG(std::string, product, "", "feedback: the product id.");
ABSL_FLAG(std::string, event, "", "feedback: impression, click or conversion.");
ABSL_FLAG(std::string, operator_name, "", "models: your name for the audit log (sent as x-operator); default $USER.");
ABSL_FLAG(std::string, name, "", "token new: who holds the token (the audit log's name), [A-Za-z0-9._@-]{1,64}.");
ABSL_FLAG(std::string, roles, "recommend", "token new: comma-separated roles: recommend, admin.");
ABSL_FLAG(std::string, append_to, "",
          "token new: append the token's hashed line to this server token file (created mode 0600).");

namespace {

namespace v1 = easymoney::recommender::v1;

constexpr char kUsage[] =
    "Queries a recommender-server.\n"
    "Usage:\n"
    "  recommender-cli recommend --customer ID [-n 5] [--include-held] [--holdings a,b] [--json]\n"
    "                            [--target 127.0.0.1:50051]\n"
    "  recommender-cli health [--target 127.0.0.1:50051] [--lb-policy round_robin]\n"
    "  recommender-cli info [--target 127.0.0.1:50051] [--json]   (serving versions, catalogue, evaluation)\n"
    "  recommender-cli feedback --request-id ID --model-version V [--variant stable|canary] --customer ID\n"
    "                           --product P --event impression|click|conversion\n"
    "  recommender-cli models list|rescan|promote|rollback [--target ...] [--json]\n"
    "  recommender-cli models route --canary V --percent P [--stable V] [--salt S] [--auto-rollback]\n"
    "                               [--shadow V --shadow-percent P]\n"
    "  recommender-cli token new --name NAME [--roles recommend|admin|recommend,admin] [--append-to FILE]\n"
    "      prints a new random token on stdout and its hashed line for the server's --auth-token-file\n"
    "      (appended to FILE, else printed on stderr)\n"
    "Connection: --tls or --tls-ca FILE for TLS, --tls-cert/--tls-key for mutual TLS,\n"
    "--token-file FILE (or $RECOMMENDER_TOKEN) for the bearer token; plaintext without --tls*.\n"
    "Exit status: 0 on success, 1 when the server answers with an error (its gRPC status is\n"
    "printed on stderr), 2 on a usage error, 3 when health is not SERVING.";

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "error: %s: %s\n", absl::StatusCodeToString(status.code()).c_str(),
               std::string(status.message()).c_str());
  return 1;
}


int Feedback(const easymoney::RecommenderClient& client) {
  v1::ReportFeedbackRequest request;
  request.set_request_id(absl::GetFlag(FLAGS_request_id));
  request.set_model_version(absl::GetFlag(FLAGS_model_version));
  const std::string variant = absl::GetFlag(FLAGS_variant);
  request.set_variant(variant == "canary" ? v1::VARIANT_CANARY
                      : variant == "stable" ? v1::VARIANT_STABLE
                                            : v1::VARIANT_UNSPECIFIED);
  request.set_customer_id(absl::GetFlag(FLAGS_customer));
  request.set_product_id(absl::GetFlag(FLAGS_product));
  const std::string event = absl::GetFlag(FLAGS_event);
  request.set_event(event == "impression"   ? v1::FEEDBACK_EVENT_IMPRESSION
                    : event == "click"      ? v1::FEEDBACK_EVENT_CLICK
                    : event == "conversion" ? v1::FEEDBACK_EVENT_CONVERSION
                                            : v1::FEEDBACK_EVENT_UNSPECIFIED);
  auto response = client.ReportFeedback(request);
  if (!response.ok()) return Fail(response.status());
  if (absl::GetFlag(FLAGS_json)) {
    std::printf("%s\n", easymoney::ProtoToJson(*response).c_str());
  } else {
    std::printf("%s\n", response->duplicate() ? "recorded before (duplicate, not counted again)" : "recorded");
  }
  return 0;
}

int Recommend(const easymoney::RecommenderClient& client) {
  v1::RecommendProductsRequest request;
  request.set_customer_id(absl::GetFlag(FLAGS_customer));
  request.set_num_results(absl::GetFlag(FLAGS_n));
  request.set_include_held(absl::GetFlag(FLAGS_include_held));
  const std::string holdings = absl::GetFlag(FLAGS_holdings);
  if (!holdings.empty()) {
    auto* held = request.mutable_current_holdings();
    if (holdings != "none") {
      for (absl::string_view id : absl::StrSplit(holdings, ',', absl::SkipWhitespace())) {
        held->add_product_ids(std::string(id));
      }
    }
  }
  auto response = client.Recommend(request);
  if (!response.ok()) return Fail(response.status());
  if (absl::GetFlag(FLAGS_json)) {
    std::printf("%s\n", easymoney::ProtoToJson(*response).c_str());
    return 0;
  }
  std::printf("customer %s: model version %lld, strategy %s, cluster %s\n", request.customer_id().c_str(),
              static_cast<long long>(response->model_version()),
              v1::Strategy_Name(response->strategy()).c_str(),
              response->has_cluster_id() ? std::to_string(response->cluster_id()).c_str() : "-");
  std::printf("%-4s  %-20s  %-22s  %10s\n", "rank", "product_id", "name", "score");
  int rank = 0;
  for (const v1::RecommendedProduct& product : response->products()) {
    std::printf("%-4d  %-20s  %-22s  %10.4f\n", ++rank, product.product_id().c_str(),
                product.display_name().c_str(), product.score());
  }
  return 0;
}

void PrintRouting(const v1::Routing& routing) {
  std::printf("routing: stable %lld, canary %s (%.2f%%), salt '%s', previous stable %s\n",
              static_cast<long long>(routing.stable_version()),
              routing.canary_version() > 0 ? std::to_string(routing.canary_version()).c_str() : "none",
              routing.canary_percent(), routing.salt().c_str(),
              routing.previous_stable_version() > 0 ? std::to_string(routing.previous_stable_version()).c_str()
                                                    : "none");
  if (routing.shadow_version() > 0) {
    std::printf("shadow: version %lld on %.2f%% of requests\n", static_cast<long long>(routing.shadow_version()),
                routing.shadow_percent());
  }
  if (routing.auto_rollback().enabled()) std::printf("automatic canary analysis: on\n");
  if (!routing.last_auto_rollback().empty()) {
    std::printf("last automatic rollback: %s\n", routing.last_auto_rollback().c_str());
  }
}

int PrintVersions(const absl::StatusOr<v1::ListVersionsResponse>& response) {
  if (!response.ok()) return Fail(response.status());
  if (absl::GetFlag(FLAGS_json)) {
    std::printf("%s\n", easymoney::ProtoToJson(*response).c_str());
    return 0;
  }
  std::printf("%-8s  %-8s  %-7s  %12s  %12s  %8s  %s\n", "version", "state", "as", "customers", "bytes", "load s",
              "reason");
  for (const v1::VersionInfo& info : response->versions()) {
    const char* as = info.serving_as() == v1::VARIANT_CANARY ? "canary"
                     : info.serving_as() == v1::VARIANT_STABLE ? "stable"
                                                               : "-";
    std::printf("%-8lld  %-8s  %-7s  %12lld  %12lld  %8.3f  %s\n", static_cast<long long>(info.version()),
                v1::VersionInfo::State_Name(info.state()).c_str(), as, static_cast<long long>(info.num_customers()),
                static_cast<long long>(info.size_bytes()), info.load_seconds(), info.reason().c_str());
  }
  PrintRouting(response->routing());
  return 0;
}

int PrintRoutingResponse(const absl::StatusOr<v1::RoutingResponse>& response) {
  if (!response.ok()) return Fail(response.status());
  if (absl::GetFlag(FLAGS_json)) {
    std::printf("%s\n", easymoney::ProtoToJson(*response).c_str());
  } else {
    PrintRouting(response->routing());
  }
  return 0;
}

int Models(const easymoney::RecommenderClient& client, const std::string& action) {
  if (action == "list") return PrintVersions(client.ListVersions());
  if (action == "rescan") return PrintVersions(client.Rescan());
  if (action == "promote") return PrintRoutingResponse(client.PromoteCanary());
  if (action == "rollback") return PrintRoutingResponse(client.Rollback());
  if (action == "route") {
    v1::SetRoutingRequest request;
    request.set_stable_version(absl::GetFlag(FLAGS_stable));
    request.set_canary_version(absl::GetFlag(FLAGS_canary));
    request.set_canary_percent(absl::GetFlag(FLAGS_percent));
    request.set_salt(absl::GetFlag(FLAGS_salt));
    request.set_shadow_version(absl::GetFlag(FLAGS_shadow));
    request.set_shadow_percent(absl::GetFlag(FLAGS_shadow_percent));
    v1::AutoRollback* automatic = request.mutable_auto_rollback();
    automatic->set_enabled(absl::GetFlag(FLAGS_auto_rollback));
    automatic->set_window_seconds(absl::GetFlag(FLAGS_window_seconds));
    automatic->set_min_requests(absl::GetFlag(FLAGS_min_requests));
    automatic->set_max_error_ratio_increase(absl::GetFlag(FLAGS_max_error_increase));
    automatic->set_max_p99_ratio(absl::GetFlag(FLAGS_max_p99_ratio));
    return PrintRoutingResponse(client.SetRouting(request));
  }
  std::fprintf(stderr, "unknown models action '%s'\n%s\n", action.c_str(), kUsage);
  return 2;
}

int Health(const easymoney::RecommenderClient& client) {
  auto status = client.CheckHealth();
  if (!status.ok()) return Fail(status.status());
  const std::string name = grpc::health::v1::HealthCheckResponse::ServingStatus_Name(*status);
  if (absl::GetFlag(FLAGS_json)) {
    std::printf("{\"status\": \"%s\"}\n", name.c_str());
  } else {
    std::printf("%s\n", name.c_str());
  }
  return *status == grpc::health::v1::HealthCheckResponse::SERVING ? 0 : 3;
}

// `token new`: a token for a backend or an operator, and the line the
// server's token file needs (only the hash: the file grants nothing).
int NewToken() {
  const std::string name = absl::GetFlag(FLAGS_name);
  if (name.empty()) {
    std::fprintf(stderr, "token new needs --name (who will hold the token)\n");
    return 2;
  }
  absl::StatusOr<std::string> token = easymoney::NewAccessToken();
  if (!token.ok()) return Fail(token.status());
  absl::StatusOr<std::string> line = easymoney::AccessTokenLine(*token, name, absl::GetFlag(FLAGS_roles));
  if (!line.ok()) {
    std::fprintf(stderr, "recommender-cli: %s\n", std::string(line.status().message()).c_str());
    return 2;
  }
  const std::string path = absl::GetFlag(FLAGS_append_to);
  if (path.empty()) {
    std::fprintf(stderr, "add this line to the server's token file:\n%s\n", line->c_str());
  } else {
    const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    const std::string text = *line + "\n";
    if (fd < 0 || ::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size()) || ::fsync(fd) != 0) {
      std::fprintf(stderr, "recommender-cli: cannot append to %s: %s\n", path.c_str(), std::strerror(errno));
      if (fd >= 0) ::close(fd);
      return 1;
    }
    ::close(fd);
    std::fprintf(stderr, "appended the hashed line for \"%s\" to %s\n", name.c_str(), path.c_str());
  }
  std::printf("%s\n", token->c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args = easymoney::ParseToolFlags(argc, argv, kUsage);
  if (args.size() == 2 && args[0] == "token" && args[1] == "new") return NewToken();
  const bool models = args.size() == 2 && args[0] == "models";
  if (!models && (args.size() != 1 || (args[0] != "recommend" && args[0] != "health" && args[0] != "info" &&
                                        args[0] != "feedback"))) {
    std::fprintf(stderr, "%s\n", kUsage);
    return 2;
  }
  absl::StatusOr<easymoney::ChannelSecurity> security = easymoney::ChannelSecurityFromFlags();
  if (!security.ok()) {
    std::fprintf(stderr, "recommender-cli: %s\n", std::string(security.status().message()).c_str());
    return 2;
  }
  std::string operator_name = absl::GetFlag(FLAGS_operator_name);
  if (operator_name.empty() && std::getenv("USER") != nullptr) operator_name = std::getenv("USER");
  auto client = easymoney::RecommenderClient::Create({.target = absl::GetFlag(FLAGS_target),
                                                      .load_balancing_policy = absl::GetFlag(FLAGS_lb_policy),
                                                      .timeout = absl::GetFlag(FLAGS_timeout),
                                                      .operator_name = operator_name,
                                                      .security = *std::move(security)});
  if (!client.ok()) {
    if (client.status().code() != absl::StatusCode::kInvalidArgument) return Fail(client.status());
    std::fprintf(stderr, "recommender-cli: %s\n", std::string(client.status().message()).c_str());
    return 2;
  }
  if (models) return Models(**client, args[1]);
  if (args[0] == "health") return Health(**client);
  if (args[0] == "feedback") return Feedback(**client);
  if (args[0] == "info") {
    auto info = (*client)->GetModelInfo();
    if (!info.ok()) return Fail(info.status());
    std::printf("%s\n", easymoney::ProtoToJson(*info).c_str());
    return 0;
  }
  if (absl::GetFlag(FLAGS_customer).empty()) {
    std::fprintf(stderr, "recommend needs --customer ID\n");
    return 2;
  }
  return Recommend(**client);
}
