// recommender-cli: query a recommender-server from the shell.

#include <cstdio>
#include <string>
#include <vector>

#include <google/protobuf/util/json_util.h>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "client/recommender_client.h"
#include "core/tool_flags.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "gRPC target of the server.");
ABSL_FLAG(std::string, customer, "", "recommend: customer id (easyMoney pk_cid).");
ABSL_FLAG(int, n, 0, "recommend: number of products (0: the server's default, 5).");
ABSL_FLAG(bool, include_held, false, "recommend: include products the customer already holds.");
ABSL_FLAG(std::string, holdings, "",
          "recommend: comma-separated product ids the customer holds now (overrides the model's "
          "snapshot); use --holdings=none for 'holds nothing'.");
ABSL_FLAG(bool, json, false, "Print the response as JSON instead of a table.");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(5), "Deadline per call.");

namespace {

namespace v1 = easymoney::recommender::v1;

constexpr char kUsage[] =
    "Queries a recommender-server.\n"
    "Usage:\n"
    "  recommender-cli recommend --customer ID [-n 5] [--include-held] [--holdings a,b] [--json]\n"
    "                            [--target 127.0.0.1:50051]\n"
    "  recommender-cli health [--target 127.0.0.1:50051]\n"
    "Exit status: 0 on success, 1 when the server answers with an error (its gRPC status is\n"
    "printed on stderr), 2 on a usage error, 3 when health is not SERVING.";

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "error: %s: %s\n", absl::StatusCodeToString(status.code()).c_str(),
               std::string(status.message()).c_str());
  return 1;
}

std::string ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  return json;
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
    std::printf("%s\n", ToJson(*response).c_str());
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

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args = easymoney::ParseToolFlags(argc, argv, kUsage);
  if (args.size() != 1 || (args[0] != "recommend" && args[0] != "health")) {
    std::fprintf(stderr, "%s\n", kUsage);
    return 2;
  }
  auto client = easymoney::RecommenderClient::Create(
      {.target = absl::GetFlag(FLAGS_target), .timeout = absl::GetFlag(FLAGS_timeout)});
  if (!client.ok()) return Fail(client.status());
  if (args[0] == "health") return Health(**client);
  if (absl::GetFlag(FLAGS_customer).empty()) {
    std::fprintf(stderr, "recommend needs --customer ID\n");
    return 2;
  }
  return Recommend(**client);
}
