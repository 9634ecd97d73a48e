#include "core/recommender.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/test_model.h"

namespace easymoney {
namespace {

using ::testing::HasSubstr;

// Catalogue indices of the test model's products.
constexpr int32_t kA = 0;
constexpr int32_t kB = 1;
constexpr int32_t kC = 2;
constexpr int32_t kD = 3;

std::shared_ptr<const Model> LoadTestModel(testing::TestModel test_model = testing::MakeTestModel()) {
  auto model = Model::FromArrays(1, std::move(test_model.manifest), std::move(test_model.arrays));
  EXPECT_TRUE(model.ok()) << model.status();
  return model.ok() ? *model : nullptr;
}

std::vector<int32_t> Indices(const Recommendation& recommendation) {
  std::vector<int32_t> indices;
  for (const ScoredIndex& s : recommendation.products) indices.push_back(s.index);
  return indices;
}

std::vector<float> Scores(const Recommendation& recommendation) {
  std::vector<float> scores;
  for (const ScoredIndex& s : recommendation.products) scores.push_back(s.score);
  return scores;
}

absl::StatusOr<Recommendation> RecommendFor(absl::string_view customer_id, int num_results = 0) {
  const auto model = LoadTestModel();
  RecommendationQuery query;
  query.customer_id = customer_id;
  query.num_results = num_results;
  return Recommend(*model, query);
}

absl::Status ErrorFor(const RecommendationQuery& query) {
  const auto model = LoadTestModel();
  auto result = Recommend(*model, query);
  EXPECT_FALSE(result.ok()) << "query for '" << query.customer_id << "' was accepted";
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  return result.status();
}

TEST(RecommenderTest, KnownCustomerGetsPersonalisedScoresWithoutHeldProducts) {
  // Customer 10 has factors (2,1): a=2 b=1 c=3 d=1, and holds a.
  auto result = RecommendFor("10");
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->strategy, Strategy::kPersonalised);
  EXPECT_EQ(result->cluster_id, 0);
  EXPECT_EQ(Indices(*result), (std::vector<int32_t>{kC, kB, kD}));
  EXPECT_EQ(Scores(*result), (std::vector<float>{3, 1, 1}));
}

TEST(RecommenderTest, ExcludesEveryHeldProduct) {
  // Customer 30 has factors (1,1): a=1 b=1 c=2 d=0.5, and holds b and c.
  auto result = RecommendFor("30");
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->cluster_id, 1);
  EXPECT_EQ(Indices(*result), (std::vector<int32_t>{kA, kD}));
  EXPECT_EQ(Scores(*result), (std::vector<float>{1, 0.5f}));
}

TEST(RecommenderTest, IncludeHeldRanksHeldProductsToo) {
  const auto model = LoadTestModel();
  RecommendationQuery query;
  query.customer_id = "10";
  query.include_held = true;
  auto result = Recommend(*model, query);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(Indices(*result), (std::vector<int32_t>{kC, kA, kB, kD}));
  EXPECT_EQ(Scores(*result), (std::vector<float>{3, 2, 1, 1}));
}

TEST(RecommenderTest, BreaksScoreTiesByCatalogueOrder) {
  // b and d both score 1 for customer 10; b comes first in the catalogue.
  auto result = RecommendFor("10", 2);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(Indices(*result), (std::vector<int32_t>{kC, kB}));
}

TEST(RecommenderTest, CurrentHoldingsReplaceTheModelSnapshot) {
  const auto model = LoadTestModel();
  RecommendationQuery query;
  query.customer_id = "10";
  query.current_holdings = std::vector<absl::string_view>{"c"};
  auto result = Recommend(*model, query);
  ASSERT_TRUE(result.ok()) << result.status();
  // a (held at training time) is back; c (held now) is gone.
  EXPECT_EQ(Indices(*result), (std::vector<int32_t>{kA, kB, kD}));
}

TEST(RecommenderTest, EmptyCurrentHoldingsExcludeNothingAndRankByPopularity) {
  // Holding nothing now folds in to all-zero factors: popularity ranks
  // (a=0.5, c=0.3, d=0.3, b=0.1) and nothing is excluded.
  const auto model = LoadTestModel();
  RecommendationQuery query;
  query.customer_id = "10";
  query.current_holdings = std::vector<absl::string_view>{};
  auto result = Recommend(*model, query);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->strategy, Strategy::kPopular);
  EXPECT_EQ(Indices(*result), (std::vector<int32_t>{kA, kC, kD, kB}));
}

TEST(RecommenderTest, UnknownCustomerGetsMostPopularProducts) {
  // Popularity a=0.5 b=0.1 c=0.3 d=0.3; c and d tie, c first.
  auto result = RecommendFor("99");
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->strategy, Strategy::kPopular);
  EXPECT_EQ(result->cluster_id, std::nullopt);
  EXPECT_EQ(Indices(*result), (std::vector<int32_t>{kA, kC, kD, kB}));
  EXPECT_EQ(Scores(*result), (std::vector<float>{0.5f, 0.3f, 0.3f, 0.1f}));
}

TEST(RecommenderTest, UnknownCustomerCurrentHoldingsAreExcluded) {
  const auto model = LoadTestModel();
  RecommendationQuery query;
  query.customer_id = "99";
  query.current_holdings = std::vector<absl::string_view>{"a", "d"};
  auto result = Recommend(*model, query);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(Indices(*result), (std::vector<int32_t>{kC, kB}));
}

TEST(RecommenderTest, CustomerWithAllZeroFactorsGetsPopularProducts) {
  testing::TestModel test_model = testing::MakeTestModel();
  test_model.arrays.customer_factors.row(1).setZero();  // Customer 20, who holds nothing.
  const auto model = LoadTestModel(std::move(test_model));
  RecommendationQuery query;
  query.customer_id = "20";
  auto result = Recommend(*model, query);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->strategy, Strategy::kPopular);
  EXPECT_EQ(result->cluster_id, 1);
  EXPECT_EQ(Indices(*result), (std::vector<int32_t>{kA, kC, kD, kB}));
}

TEST(RecommenderTest, NeverRecommendProductIsLeftOut) {
  testing::TestModel test_model = testing::MakeTestModel();
  test_model.manifest.mutable_products(kC)->set_never_recommend(true);
  const auto model = LoadTestModel(std::move(test_model));
  RecommendationQuery query;
  query.customer_id = "10";
  query.include_held = true;
  auto result = Recommend(*model, query);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(Indices(*result), (std::vector<int32_t>{kA, kB, kD}));
}

TEST(RecommenderTest, ZeroNumResultsMeansDefaultCappedAtCatalogueSize) {
  ASSERT_GT(kDefaultNumResults, 4);
  auto result = RecommendFor("99", 0);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->products.size(), 4u);
}

TEST(RecommenderTest, ReturnsAtMostNumResults) {
  auto result = RecommendFor("99", 2);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(Indices(*result), (std::vector<int32_t>{kA, kC}));
}

TEST(RecommenderTest, RefusesEmptyCustomerId) {
  RecommendationQuery query;
  query.customer_id = "";
  EXPECT_THAT(ErrorFor(query).message(), HasSubstr("customer_id"));
}

TEST(RecommenderTest, RefusesNonNumericCustomerId) {
  for (const char* id : {"12a", "-10", "+10", " 10", "1.0", "0"}) {
    RecommendationQuery query;
    query.customer_id = id;
    EXPECT_THAT(ErrorFor(query).message(), HasSubstr("customer_id")) << id;
  }
}

TEST(RecommenderTest, RefusesTooLongCustomerId) {
  const std::string id(kMaxCustomerIdLength + 1, '1');
  RecommendationQuery query;
  query.customer_id = id;
  const absl::Status error = ErrorFor(query);
  EXPECT_THAT(error.message(), HasSubstr("customer_id"));
  EXPECT_THAT(error.message(), ::testing::Not(HasSubstr(id)));
}

TEST(RecommenderTest, RefusesNegativeNumResults) {
  RecommendationQuery query;
  query.customer_id = "10";
  query.num_results = -1;
  EXPECT_THAT(ErrorFor(query).message(), HasSubstr("num_results"));
}

TEST(RecommenderTest, RefusesNumResultsLargerThanCatalogue) {
  RecommendationQuery query;
  query.customer_id = "10";
  query.num_results = 5;
  EXPECT_THAT(ErrorFor(query).message(), HasSubstr("num_results"));
}

TEST(RecommenderTest, RefusesUnknownProductInCurrentHoldings) {
  RecommendationQuery query;
  query.customer_id = "10";
  query.current_holdings = std::vector<absl::string_view>{"a", "zz"};
  const absl::Status error = ErrorFor(query);
  EXPECT_THAT(error.message(), HasSubstr("current_holdings"));
  EXPECT_THAT(error.message(), HasSubstr("[1]"));
  EXPECT_THAT(error.message(), HasSubstr("'zz'"));
}

}  // namespace
}  // namespace easymoney

namespace easymoney {
namespace {

// Fold-in against a hand computation on the test model (factors in
// tests/testing/test_model.h): folded factors = sum of the held products'
// rows of product_factors.
class FoldInTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto model = Model::FromArrays(1, testing::MakeTestModel().manifest, testing::MakeTestModel().arrays);
    ASSERT_TRUE(model.ok()) << model.status();
    model_ = *model;
  }
  absl::StatusOr<Recommendation> Ask(absl::string_view customer, std::vector<absl::string_view> held) {
    RecommendationQuery query;
    query.customer_id = customer;
    query.num_results = 4;
    query.current_holdings = std::move(held);
    return Recommend(*model_, query);
  }
  std::shared_ptr<const Model> model_;
};

TEST_F(FoldInTest, KnownCustomerWithChangedHoldingsIsScoredFromTheNewHoldings) {
  // Customer 10 held {a}; now holds {b}: u = V[b] = (0, 1), so a=0, c=1, d=0.
  auto result = Ask("10", {"b"});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->strategy, Strategy::kFoldIn);
  ASSERT_EQ(result->products.size(), 3u);
  EXPECT_EQ(result->products[0].index, 2);  // c
  EXPECT_FLOAT_EQ(result->products[0].score, 1.0f);
  EXPECT_EQ(result->products[1].index, 0);  // a, tied with d at 0: lower index first
  EXPECT_FLOAT_EQ(result->products[1].score, 0.0f);
  EXPECT_EQ(result->products[2].index, 3);  // d
  EXPECT_EQ(result->cluster_id, 0);         // Still the customer's cluster.
}

TEST_F(FoldInTest, UnchangedHoldingsKeepThePersonalisedFactors) {
  auto result = Ask("10", {"a"});
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->strategy, Strategy::kPersonalised);
  EXPECT_EQ(result->products[0].index, 2);  // c scores 3 with the stored factors (2, 1).
  EXPECT_FLOAT_EQ(result->products[0].score, 3.0f);
}

TEST_F(FoldInTest, UnknownCustomerWithHoldingsIsFoldedIn) {
  // u = V[a] + V[c] = (1,0) + (1,1) = (2,1): b=1, d=1; tie broken by index.
  auto result = Ask("99", {"a", "c"});
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->strategy, Strategy::kFoldIn);
  ASSERT_EQ(result->products.size(), 2u);
  EXPECT_EQ(result->products[0].index, 1);
  EXPECT_FLOAT_EQ(result->products[0].score, 1.0f);
  EXPECT_EQ(result->products[1].index, 3);
  EXPECT_FLOAT_EQ(result->products[1].score, 1.0f);
  EXPECT_FALSE(result->cluster_id.has_value());
}

TEST_F(FoldInTest, HoldingNothingFallsBackToPopularity) {
  auto result = Ask("10", {});
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->strategy, Strategy::kPopular);
  EXPECT_EQ(result->products[0].index, 0);  // a, popularity 0.5
}

}  // namespace
}  // namespace easymoney
