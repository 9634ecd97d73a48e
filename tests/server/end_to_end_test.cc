// datagen -> train -> recommender-server (in-process, real gRPC over
// loopback) -> client library, CLI binary and a real /metrics scrape.

#include <algorithm>
#include <functional>
#include <numeric>
#include <sstream>
#include <filesystem>
#include <regex>
#include <set>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/recommender_client.h"
#include "absl/time/civil_time.h"
#include "core/model/customer_features.h"
#include "core/model/nearest_centroid.h"
#include "core/model/model_directory.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/recommender_server.h"
#include "server/recommender_service.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/test_model.h"

namespace easymoney {
namespace {

namespace v1 = easymoney::recommender::v1;
using ::testing::HasSubstr;
using HealthStatus = grpc::health::v1::HealthCheckResponse;

// Value of the first sample line of `metric` whose labels contain every
// string in `labels`, or -1.
double MetricValue(const std::string& exposition, const std::string& metric,
                   std::initializer_list<std::string> labels = {}) {
  std::istringstream lines(exposition);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(metric, 0) != 0) continue;
    const char next = line.size() > metric.size() ? line[metric.size()] : '\0';
    if (next != '{' && next != ' ') continue;
    if (!std::all_of(labels.begin(), labels.end(),
                     [&](const std::string& label) { return line.find(label) != std::string::npos; })) {
      continue;
    }
    return std::stod(line.substr(line.rfind(' ') + 1));
  }
  return -1;
}

RecommenderClient::Options ClientOptions(int port) {
  RecommenderClient::Options options;
  options.target = absl::StrCat("127.0.0.1:", port);
  options.operator_name = "end-to-end-test";
  return options;
}

class EndToEndTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    work_dir_ = new std::string(testing::MakeTempDir("e2e"));
    const std::string data = *work_dir_ + "/data";
    const std::string models = *work_dir_ + "/models";
    const auto datagen = testing::RunCommand(
        absl::StrCat(DATAGEN_BINARY, " --customers 3000 --seed 11 --out ", data));
    ASSERT_EQ(datagen.exit_code, 0) << datagen.output;
    const auto train = testing::RunCommand(absl::StrCat(TRAIN_BINARY, " --data ", data, " --model-base ", models));
    ASSERT_EQ(train.exit_code, 0) << train.output;
    ASSERT_THAT(train.output, HasSubstr("model version 1 written"));

    RecommenderServer::Options options;
    options.model_base = models;
    options.grpc_address = "127.0.0.1:0";
    options.metrics_address = "127.0.0.1:0";
    auto server = RecommenderServer::Create(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = server->release();
    auto client = RecommenderClient::Create(ClientOptions(server_->port()));
    ASSERT_TRUE(client.ok());
    client_ = client->release();
  }

  static void TearDownTestSuite() {
    delete client_;
    delete server_;
    std::filesystem::remove_all(*work_dir_);
    delete work_dir_;
  }

  void SetUp() override {
    ASSERT_NE(server_, nullptr);
    model_ = server_->CurrentModel();
    ASSERT_NE(model_, nullptr);
  }

  // A customer of the model holding at least `min_held` products.
  int64_t CustomerHolding(size_t min_held) const {
    for (int64_t row = 0; row < model_->num_customers(); ++row) {
      if (model_->customer_holdings(row).size() >= min_held) return model_->customer_ids()[row];
    }
    ADD_FAILURE() << "no customer holds " << min_held << " products";
    return 0;
  }

  std::set<std::string> HeldBy(int64_t customer_id) const {
    std::set<std::string> held;
    for (int32_t p : model_->customer_holdings(*model_->FindCustomer(customer_id))) {
      held.insert(model_->product(p).id());
    }
    return held;
  }

  // Whether product p may be offered to a customer of `age` under the
  // model's rules (unknown age: age-restricted products are not offered).
  bool Eligible(int p, std::optional<int> age) const {
    if (model_->product(p).never_recommend()) return false;
    const int32_t minimum = model_->minimum_age(p);
    return minimum < 0 || (age.has_value() && *age >= minimum);
  }

  static v1::RecommendProductsRequest Request(int64_t customer_id, int num_results = 0) {
    v1::RecommendProductsRequest request;
    request.set_customer_id(std::to_string(customer_id));
    request.set_num_results(num_results);
    return request;
  }

  static std::string* work_dir_;
  static RecommenderServer* server_;
  static RecommenderClient* client_;
  std::shared_ptr<const Model> model_;
};

std::string* EndToEndTest::work_dir_ = nullptr;
RecommenderServer* EndToEndTest::server_ = nullptr;
RecommenderClient* EndToEndTest::client_ = nullptr;

TEST_F(EndToEndTest, KnownCustomerGetsPersonalisedScoresFromTheModelFactors) {
  const int64_t customer = CustomerHolding(1);
  auto response = client_->Recommend(Request(customer));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->strategy(), v1::STRATEGY_PERSONALISED);
  EXPECT_EQ(response->model_version(), 1);
  EXPECT_EQ(response->variant(), v1::VARIANT_STABLE);
  const int64_t row = *model_->FindCustomer(customer);
  ASSERT_TRUE(response->has_cluster_id());
  EXPECT_EQ(response->cluster_id(), model_->customer_cluster(row));
  ASSERT_EQ(response->products_size(), 5);
  // Independent computation: dot product of the stored factor rows.
  for (int i = 0; i < response->products_size(); ++i) {
    const auto& product = response->products(i);
    const int32_t p = *model_->FindProduct(product.product_id());
    const float expected = model_->customer_factor_matrix().row(row).dot(model_->product_factors().row(p));
    EXPECT_NEAR(product.score(), expected, 1e-5) << product.product_id();
    EXPECT_EQ(product.display_name(), model_->product(p).name());
    if (i > 0) {
      EXPECT_GE(response->products(i - 1).score(), product.score());
    }
  }
}

TEST_F(EndToEndTest, ProductsAlreadyHeldAreExcludedUnlessAskedFor) {
  const int64_t customer = CustomerHolding(2);
  const std::set<std::string> held = HeldBy(customer);
  const std::optional<int> age = model_->customer_age(*model_->FindCustomer(customer));
  int candidates = 0;
  for (int p = 0; p < model_->num_products(); ++p) {
    candidates += Eligible(p, age) && !held.contains(model_->product(p).id());
  }
  // Asking for the whole catalogue returns exactly the candidates: not held,
  // not never_recommend, allowed by the product rules.
  auto excluded = client_->Recommend(Request(customer, 15));
  ASSERT_TRUE(excluded.ok()) << excluded.status();
  EXPECT_EQ(excluded->products_size(), candidates);
  for (const auto& product : excluded->products()) {
    EXPECT_FALSE(held.contains(product.product_id()));
    EXPECT_TRUE(Eligible(*model_->FindProduct(product.product_id()), age));
  }

  auto request = Request(customer, 15);
  request.set_include_held(true);
  auto included = client_->Recommend(request);
  ASSERT_TRUE(included.ok()) << included.status();
  std::set<std::string> returned;
  for (const auto& product : included->products()) returned.insert(product.product_id());
  for (const std::string& id : held) {
    if (Eligible(*model_->FindProduct(id), age)) {
      EXPECT_TRUE(returned.contains(id)) << id;
    }
  }
}

TEST_F(EndToEndTest, CurrentHoldingsReplaceTheModelSnapshot) {
  const int64_t customer = CustomerHolding(2);
  const std::set<std::string> snapshot = HeldBy(customer);
  auto request = Request(customer, 13);
  request.mutable_current_holdings()->add_product_ids("credit_card");
  request.mutable_current_holdings()->add_product_ids("funds");
  auto response = client_->Recommend(request);
  ASSERT_TRUE(response.ok()) << response.status();
  std::set<std::string> returned;
  for (const auto& product : response->products()) returned.insert(product.product_id());
  EXPECT_FALSE(returned.contains("credit_card"));
  EXPECT_FALSE(returned.contains("funds"));
  const std::optional<int> age = model_->customer_age(*model_->FindCustomer(customer));
  for (const std::string& id : snapshot) {
    if (id != "credit_card" && id != "funds" && Eligible(*model_->FindProduct(id), age)) {
      EXPECT_TRUE(returned.contains(id)) << id;
    }
  }
}

TEST_F(EndToEndTest, UnknownCustomerGetsMostPopularProducts) {
  auto response = client_->Recommend(Request(999999999, 3));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->strategy(), v1::STRATEGY_POPULAR);
  EXPECT_FALSE(response->has_cluster_id());
  // Independently: the three most popular recommendable products.
  const auto popularity = model_->product_popularity();
  std::vector<int> order;
  for (int p = 0; p < model_->num_products(); ++p) {
    if (Eligible(p, std::nullopt)) order.push_back(p);
  }
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return popularity[a] > popularity[b]; });
  ASSERT_EQ(response->products_size(), 3);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(response->products(i).product_id(), model_->product(order[i]).id());
    EXPECT_FLOAT_EQ(response->products(i).score(), popularity[order[i]]);
  }
}

TEST_F(EndToEndTest, CurrentHoldingsAreFoldedInWithThePureSvdFormula) {
  // Unknown customer holding em_acount and debit_card: folded factors
  // u = V[em_acount] + V[debit_card]; score_j = u . V[j] + w * popularity[j].
  const std::vector<std::string> held = {"em_acount", "debit_card"};
  auto request = Request(999999998, 4);
  for (const std::string& id : held) request.mutable_current_holdings()->add_product_ids(id);
  auto response = client_->Recommend(request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->strategy(), v1::STRATEGY_FOLD_IN);
  const auto& v = model_->product_factors();
  Eigen::VectorXf u = Eigen::VectorXf::Zero(v.cols());
  for (const std::string& id : held) u += v.row(*model_->FindProduct(id)).transpose();
  std::vector<std::pair<float, int>> expected;
  for (int p = 0; p < model_->num_products(); ++p) {
    const std::string& id = model_->product(p).id();
    if (!Eligible(p, std::nullopt) || std::find(held.begin(), held.end(), id) != held.end()) continue;
    expected.emplace_back(-(v.row(p).dot(u) + model_->popularity_weight() * model_->product_popularity()[p]),
                          p);
  }
  std::sort(expected.begin(), expected.end());
  ASSERT_EQ(response->products_size(), 4);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(response->products(i).product_id(), model_->product(expected[i].second).id());
    EXPECT_NEAR(response->products(i).score(), -expected[i].first, 1e-5);
  }
}

TEST_F(EndToEndTest, UnknownCustomerWithAProfileGetsItsNearestClustersRanking) {
  auto request = Request(999999997, 3);
  v1::CustomerProfile* profile = request.mutable_profile();
  profile->set_age(21);
  profile->set_segment("03 - UNIVERSITARIO");
  profile->set_gender("V");
  profile->set_entry_date("2019-05-01");
  auto response = client_->Recommend(request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->strategy(), v1::STRATEGY_CLUSTER);
  // Independently: encode with the manifest's spec, nearest centroid.
  CustomerProfile expected_profile;
  expected_profile.age = 21;
  expected_profile.segment = std::string("03 - UNIVERSITARIO");
  expected_profile.gender = std::string("V");
  // Tenure to the training partition, 2019-05-28, as in training.
  expected_profile.tenure_months = static_cast<double>(absl::CivilDay(2019, 5, 28) - absl::CivilDay(2019, 5, 1)) / 30.4375;
  const FeatureSpec spec(model_->manifest().features().begin(), model_->manifest().features().end());
  std::vector<float> encoded(spec.size());
  EncodeProfile(spec, expected_profile, encoded);
  const int32_t cluster = NearestCentroid(model_->cluster_centroids(), encoded.data());
  ASSERT_TRUE(response->has_cluster_id());
  EXPECT_EQ(response->cluster_id(), cluster);
  // Scores are the cluster's mean factors times the product factors, plus the prior.
  const auto mean = model_->cluster_mean_factors(cluster);
  const Eigen::Map<const Eigen::VectorXf> u(mean.data(), static_cast<Eigen::Index>(mean.size()));
  for (const auto& product : response->products()) {
    const int p = *model_->FindProduct(product.product_id());
    EXPECT_NEAR(product.score(),
                model_->product_factors().row(p).dot(u) +
                    model_->popularity_weight() * model_->product_popularity()[p],
                1e-5);
    EXPECT_TRUE(Eligible(p, 21));
  }
}

TEST_F(EndToEndTest, ImpossibleProfileValuesAreInvalidArgumentNamingTheField) {
  const std::pair<std::function<void(v1::CustomerProfile*)>, std::string> cases[] = {
      {[](v1::CustomerProfile* p) { p->set_age(-3); }, "profile.age"},
      {[](v1::CustomerProfile* p) { p->set_segment("04 - VIP"); }, "profile.segment"},
      {[](v1::CustomerProfile* p) { p->set_gender("X"); }, "profile.gender"},
      {[](v1::CustomerProfile* p) { p->set_salary(-1); }, "profile.salary"},
      {[](v1::CustomerProfile* p) { p->set_entry_date("2019-02-30"); }, "profile.entry_date"},
  };
  for (const auto& [mutate, field] : cases) {
    auto request = Request(999999997, 3);
    mutate(request.mutable_profile());
    auto response = client_->Recommend(request);
    EXPECT_EQ(response.status().code(), absl::StatusCode::kInvalidArgument) << field;
    EXPECT_THAT(response.status().message(), HasSubstr(field));
  }
}

TEST_F(EndToEndTest, ProductRulesKeepAgeRestrictedProductsFromMinorsAndEverythingFromTheDeceased) {
  auto minor = Request(999999996, 15);
  minor.mutable_profile()->set_age(16);
  auto answer = client_->Recommend(minor);
  ASSERT_TRUE(answer.ok()) << answer.status();
  for (const auto& product : answer->products()) {
    EXPECT_TRUE(Eligible(*model_->FindProduct(product.product_id()), 16)) << product.product_id();
  }
  int restricted = 0;
  for (int p = 0; p < model_->num_products(); ++p) restricted += model_->minimum_age(p) == 18;
  EXPECT_EQ(restricted, 4);  // loans, mortgage, credit_card, pension_plan.
  auto adult = minor;
  adult.mutable_profile()->set_age(40);
  auto adult_answer = client_->Recommend(adult);
  ASSERT_TRUE(adult_answer.ok());
  EXPECT_GT(adult_answer->products_size(), answer->products_size());

  auto deceased = Request(CustomerHolding(1), 5);
  deceased.mutable_profile()->set_deceased(true);
  auto none = client_->Recommend(deceased);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(none->products_size(), 0);
}

TEST_F(EndToEndTest, BatchAnswersEachCustomerAsTheSingleCallWithPerItemErrors) {
  const int64_t known = CustomerHolding(1);
  v1::RecommendProductsBatchRequest batch;
  *batch.add_requests() = Request(known, 3);
  *batch.add_requests() = Request(known, 99);  // Invalid: more than the catalogue.
  *batch.add_requests() = Request(999999999, 2);
  auto response = client_->RecommendBatch(batch);
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_EQ(response->results_size(), 3);
  auto single = client_->Recommend(Request(known, 3));
  ASSERT_TRUE(single.ok());
  EXPECT_EQ(response->results(0).code(), 0);
  // Every answer has its own request id (echoed in feedback); the rest is
  // what the single call answers.
  v1::RecommendProductsResponse from_batch = response->results(0).response();
  EXPECT_THAT(from_batch.request_id(), ::testing::MatchesRegex("[A-Za-z0-9_-]{30,}"));  // Signed: request_id.h.
  EXPECT_NE(from_batch.request_id(), single->request_id());
  from_batch.clear_request_id();
  single->clear_request_id();
  EXPECT_EQ(from_batch.SerializeAsString(), single->SerializeAsString());
  EXPECT_EQ(response->results(1).code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_THAT(response->results(1).message(), HasSubstr("num_results"));
  EXPECT_FALSE(response->results(1).has_response());
  EXPECT_EQ(response->results(2).code(), 0);
  EXPECT_EQ(response->results(2).response().strategy(), v1::STRATEGY_POPULAR);

  v1::RecommendProductsBatchRequest too_big;
  for (int i = 0; i < kMaxBatchSize + 1; ++i) *too_big.add_requests() = Request(known, 1);
  auto refused = client_->RecommendBatch(too_big);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.status().message(), HasSubstr("at most 500"));
}

TEST_F(EndToEndTest, ModelInfoDescribesTheServingVersion) {
  auto info = client_->GetModelInfo();
  ASSERT_TRUE(info.ok()) << info.status();
  ASSERT_EQ(info->models_size(), 1);
  const v1::ServingModelInfo& model = info->models(0);
  EXPECT_EQ(model.version(), 1);
  EXPECT_EQ(model.variant(), v1::VARIANT_STABLE);
  EXPECT_EQ(model.num_customers(), model_->num_customers());
  EXPECT_EQ(model.training_partition(), "2019-05-28");
  ASSERT_EQ(model.products_size(), 15);
  EXPECT_EQ(model.products(7).product_id(), "credit_card");
  EXPECT_EQ(model.products(7).family(), "cards");
  ASSERT_GE(model.evaluation_size(), 4);
  EXPECT_EQ(model.evaluation(0).method(), "SVD model");
  EXPECT_THAT(model.selection(), HasSubstr("rank="));
}

TEST_F(EndToEndTest, MalformedRequestsAreInvalidArgumentNamingTheField) {
  const int64_t customer = CustomerHolding(1);
  struct Case {
    v1::RecommendProductsRequest request;
    std::string field;
  };
  std::vector<Case> cases;
  cases.push_back({Request(customer), "customer_id"});
  cases.back().request.set_customer_id("");
  cases.push_back({Request(customer), "customer_id"});
  cases.back().request.set_customer_id("12ab");
  cases.push_back({Request(customer, 16), "num_results"});
  cases.push_back({Request(customer, -1), "num_results"});
  cases.push_back({Request(customer), "current_holdings.product_ids[1]"});
  cases.back().request.mutable_current_holdings()->add_product_ids("debit_card");
  cases.back().request.mutable_current_holdings()->add_product_ids("yacht");
  for (const Case& c : cases) {
    auto response = client_->Recommend(c.request);
    ASSERT_FALSE(response.ok()) << c.request.ShortDebugString();
    EXPECT_EQ(response.status().code(), absl::StatusCode::kInvalidArgument) << response.status();
    EXPECT_THAT(response.status().message(), HasSubstr(c.field));
  }
}

TEST_F(EndToEndTest, HealthIsServingOnceAModelIsLoaded) {
  auto status = client_->CheckHealth();
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(*status, HealthStatus::SERVING);
}

TEST_F(EndToEndTest, MetricsCountRequestsRecommendationsAndServingVersion) {
  const std::string before = testing::HttpGet(server_->metrics_port(), "/metrics");
  ASSERT_THAT(before, ::testing::Not(HasSubstr("ERROR:")));
  const int64_t customer = CustomerHolding(1);
  auto response = client_->Recommend(Request(customer, 1));
  ASSERT_TRUE(response.ok());
  const std::string product = response->products(0).product_id();
  v1::RecommendProductsRequest bad;
  ASSERT_FALSE(client_->Recommend(bad).ok());
  const std::string after = testing::HttpGet(server_->metrics_port(), "/metrics");

  auto delta = [&](const std::string& metric, std::initializer_list<std::string> labels) {
    return MetricValue(after, metric, labels) - std::max(0.0, MetricValue(before, metric, labels));
  };
  const std::string v1_stable[] = {"model_version=\"1\"", "variant=\"stable\""};
  const std::string grpc = "protocol=\"grpc\"";
  EXPECT_EQ(delta("recommender_requests_total",
                  {"method=\"RecommendProducts\"", "code=\"OK\"", v1_stable[0], v1_stable[1], grpc}),
            1);
  EXPECT_EQ(delta("recommender_requests_total", {"code=\"INVALID_ARGUMENT\"", v1_stable[0], v1_stable[1], grpc}), 1);
  EXPECT_EQ(delta("recommender_recommendations_total", {"product=\"" + product + "\"", v1_stable[0], v1_stable[1]}),
            1);
  EXPECT_EQ(delta("recommender_request_duration_seconds_count", {"RecommendProducts", v1_stable[0], v1_stable[1], grpc}),
            2);
  EXPECT_EQ(MetricValue(after, "recommender_model_info", {"version=\"1\"", "variant=\"stable\""}), 1);
  // Sub-millisecond buckets exist.
  EXPECT_THAT(after, HasSubstr("le=\"0.0001\""));
}

TEST_F(EndToEndTest, CliPrintsTableAndJsonAndFailsWithTheGrpcStatus) {
  const std::string target = absl::StrCat(" --target 127.0.0.1:", server_->port());
  const int64_t customer = CustomerHolding(1);
  const auto table = testing::RunCommand(absl::StrCat(CLI_BINARY, " recommend", target, " --customer ", customer, " -n 3"));
  EXPECT_EQ(table.exit_code, 0) << table.output;
  EXPECT_THAT(table.output, HasSubstr("STRATEGY_PERSONALISED"));
  EXPECT_THAT(table.output, HasSubstr("product_id"));

  const auto json = testing::RunCommand(absl::StrCat(CLI_BINARY, " recommend", target, " --customer ", customer, " --json"));
  EXPECT_EQ(json.exit_code, 0) << json.output;
  EXPECT_THAT(json.output, HasSubstr("\"model_version\": \"1\""));
  EXPECT_THAT(json.output, HasSubstr("\"products\""));

  const auto bad = testing::RunCommand(absl::StrCat(CLI_BINARY, " recommend", target, " --customer not-a-number"));
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.output, HasSubstr("INVALID_ARGUMENT"));

  const auto health = testing::RunCommand(absl::StrCat(CLI_BINARY, " health", target));
  EXPECT_EQ(health.exit_code, 0) << health.output;
  EXPECT_THAT(health.output, HasSubstr("SERVING"));
}

TEST(EmptyModelBaseTest, UnavailableAndNotServingUntilAVersionAppears) {
  const std::string dir = testing::MakeTempDir("empty");
  RecommenderServer::Options options;
  options.model_base = dir + "/models";
  options.grpc_address = "127.0.0.1:0";
  options.metrics_address = "127.0.0.1:0";
  options.poll_interval = absl::Milliseconds(50);
  auto server = RecommenderServer::Create(options);
  ASSERT_TRUE(server.ok()) << server.status();
  auto client = RecommenderClient::Create(ClientOptions((*server)->port()));
  ASSERT_TRUE(client.ok());

  auto health = (*client)->CheckHealth();
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(*health, HealthStatus::NOT_SERVING);
  v1::RecommendProductsRequest request;
  request.set_customer_id("10");
  auto response = (*client)->Recommend(request);
  EXPECT_EQ(response.status().code(), absl::StatusCode::kUnavailable);

  // A version written into the base is picked up by the poller.
  const testing::TestModel model = testing::MakeTestModel();
  ASSERT_TRUE(WriteModelVersion(options.model_base, model.manifest, model.arrays).ok());
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while ((*server)->CurrentModel() == nullptr && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(10));
  response = (*client)->Recommend(request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->products(0).product_id(), "c");  // Customer 10 scores c=3 highest.
  health = (*client)->CheckHealth();
  ASSERT_TRUE(health.ok());
  EXPECT_EQ(*health, HealthStatus::SERVING);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace easymoney
