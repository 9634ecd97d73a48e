#include "core/model/recommender.h"

#include <limits>
#include <memory>
#include <optional>
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

namespace easymoney {
namespace {

// Product rules and the request profile on the hand-made test model
// (tests/testing/test_model.h). Customer 10 holds a and scores a=2 b=1 c=3
// d=1, so without rules it is offered c, b, d in that order.
class ProductRulesTest : public ::testing::Test {
 protected:
  // The test model with "c" restricted to customers aged 18 or more and,
  // unless told otherwise, nothing for deceased customers.
  static testing::TestModel ModelWithRules(bool nothing_for_deceased = true) {
    testing::TestModel test_model = testing::MakeTestModel();
    auto* rule = test_model.manifest.mutable_rules()->add_minimum_age();
    rule->set_product_id("c");
    rule->set_age(18);
    test_model.manifest.mutable_rules()->set_nothing_for_deceased(nothing_for_deceased);
    return test_model;
  }
  static std::shared_ptr<const Model> Build(testing::TestModel test_model) {
    auto model = Model::FromArrays(1, std::move(test_model.manifest), std::move(test_model.arrays));
    EXPECT_TRUE(model.ok()) << model.status();
    return model.ok() ? *model : nullptr;
  }
  static absl::StatusOr<Recommendation> Ask(const Model& model, absl::string_view customer,
                                            std::optional<ProfileInput> profile = std::nullopt) {
    RecommendationQuery query;
    query.customer_id = customer;
    query.num_results = 4;
    query.profile = profile;
    return Recommend(model, query);
  }
  static ProfileInput Aged(int age) {
    ProfileInput profile;
    profile.age = age;
    return profile;
  }
};

TEST_F(ProductRulesTest, ProfileYoungerThanTheMinimumAgeIsNotOfferedTheProduct) {
  const auto model = Build(ModelWithRules());
  auto result = Ask(*model, "10", Aged(17));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(Indices(*result), (std::vector<int32_t>{kB, kD}));
}

TEST_F(ProductRulesTest, ProfileAtOrAboveTheMinimumAgeIsOfferedTheProduct) {
  const auto model = Build(ModelWithRules());
  for (int age : {18, 19, 130}) {
    auto result = Ask(*model, "10", Aged(age));
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(Indices(*result), (std::vector<int32_t>{kC, kB, kD})) << "age " << age;
  }
}

TEST_F(ProductRulesTest, StoredAgeOfAKnownCustomerAppliesWithoutAProfile) {
  testing::TestModel test_model = ModelWithRules();
  test_model.arrays.customer_ages = {16, 40, -1};
  const auto model = Build(std::move(test_model));
  auto young = Ask(*model, "10");
  ASSERT_TRUE(young.ok()) << young.status();
  EXPECT_EQ(Indices(*young), (std::vector<int32_t>{kB, kD}));
  // Customer 20 (40 years old) holds nothing and scores b=3 c=3 a=0 d=0.
  auto adult = Ask(*model, "20");
  ASSERT_TRUE(adult.ok()) << adult.status();
  EXPECT_EQ(Indices(*adult), (std::vector<int32_t>{kB, kC, kA, kD}));
}

TEST_F(ProductRulesTest, ProfileAgeTakesPrecedenceOverTheStoredAge) {
  testing::TestModel test_model = ModelWithRules();
  test_model.arrays.customer_ages = {16, 40, -1};
  const auto model = Build(std::move(test_model));
  auto result = Ask(*model, "10", Aged(30));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(Indices(*result), (std::vector<int32_t>{kC, kB, kD}));
}

TEST_F(ProductRulesTest, CustomerOfUnknownAgeIsNotOfferedAgeRestrictedProducts) {
  // No ages stored at all, and a stored -1 (unknown): both leave c out.
  const auto without_ages = Build(ModelWithRules());
  auto result = Ask(*without_ages, "10");
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(Indices(*result), (std::vector<int32_t>{kB, kD}));

  testing::TestModel test_model = ModelWithRules();
  test_model.arrays.customer_ages = {-1, 40, 50};
  const auto unknown_age = Build(std::move(test_model));
  result = Ask(*unknown_age, "10", ProfileInput{});  // A profile without age does not help either.
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(Indices(*result), (std::vector<int32_t>{kB, kD}));
}

TEST_F(ProductRulesTest, UnrestrictedProductsAreOfferedWhateverTheAge) {
  // Without rules, an unknown age restricts nothing.
  const auto model = Build(testing::MakeTestModel());
  auto result = Ask(*model, "10");
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(Indices(*result), (std::vector<int32_t>{kC, kB, kD}));
}

TEST_F(ProductRulesTest, DeceasedProfileIsOfferedNothing) {
  const auto model = Build(ModelWithRules());
  ProfileInput profile = Aged(50);
  profile.deceased = true;
  auto result = Ask(*model, "10", profile);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->products.empty());
}

TEST_F(ProductRulesTest, StoredDeceasedFlagAppliesWithoutAProfile) {
  testing::TestModel test_model = ModelWithRules();
  test_model.arrays.customer_flags = {1, 0, 0};
  test_model.arrays.customer_ages = {50, 40, 30};
  const auto model = Build(std::move(test_model));
  auto deceased = Ask(*model, "10");
  ASSERT_TRUE(deceased.ok()) << deceased.status();
  EXPECT_TRUE(deceased->products.empty());
  auto alive = Ask(*model, "20");
  ASSERT_TRUE(alive.ok()) << alive.status();
  EXPECT_EQ(alive->products.size(), 4u);
}

TEST_F(ProductRulesTest, ProfileDeceasedFalseTakesPrecedenceOverTheStoredFlag) {
  testing::TestModel test_model = ModelWithRules();
  test_model.arrays.customer_flags = {1, 0, 0};
  const auto model = Build(std::move(test_model));
  ProfileInput profile = Aged(50);
  profile.deceased = false;
  auto result = Ask(*model, "10", profile);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(Indices(*result), (std::vector<int32_t>{kC, kB, kD}));
}

TEST_F(ProductRulesTest, DeceasedCustomerIsServedWhenTheRuleIsOff) {
  const auto model = Build(ModelWithRules(/*nothing_for_deceased=*/false));
  ProfileInput profile = Aged(50);
  profile.deceased = true;
  auto result = Ask(*model, "10", profile);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(Indices(*result), (std::vector<int32_t>{kC, kB, kD}));
}

// Profile validation: each bad value is INVALID_ARGUMENT naming its field.
class ProfileValidationTest : public ProductRulesTest {
 protected:
  static absl::Status ErrorOf(const ProfileInput& profile) {
    const auto model = Build(testing::MakeTestModel());
    auto result = Ask(*model, "10", profile);
    EXPECT_FALSE(result.ok()) << "the profile was accepted";
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
    return result.status();
  }
};

TEST_F(ProfileValidationTest, RefusesAgeOutsideZeroTo130) {
  EXPECT_EQ(ErrorOf(Aged(-1)).message(), "profile.age -1 is outside 0..130");
  EXPECT_EQ(ErrorOf(Aged(131)).message(), "profile.age 131 is outside 0..130");
}

TEST_F(ProfileValidationTest, AcceptsAgesAtTheBounds) {
  const auto model = Build(testing::MakeTestModel());
  for (int age : {0, 130}) EXPECT_TRUE(Ask(*model, "10", Aged(age)).ok()) << age;
}

TEST_F(ProfileValidationTest, RefusesNegativeOrNonFiniteSalary) {
  ProfileInput profile;
  profile.salary = -5;
  EXPECT_EQ(ErrorOf(profile).message(), "profile.salary -5 must be a non-negative number");
  profile.salary = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THAT(ErrorOf(profile).message(), HasSubstr("profile.salary"));
  profile.salary = std::numeric_limits<double>::infinity();
  EXPECT_THAT(ErrorOf(profile).message(), HasSubstr("profile.salary"));
}

TEST_F(ProfileValidationTest, RefusesUnknownSegment) {
  ProfileInput profile;
  profile.segment = "X";
  EXPECT_EQ(ErrorOf(profile).message(),
            "profile.segment 'X' is not one of 01 - TOP, 02 - PARTICULARES, 03 - UNIVERSITARIO");
}

TEST_F(ProfileValidationTest, RefusesUnknownGender) {
  ProfileInput profile;
  profile.gender = "Q";
  EXPECT_EQ(ErrorOf(profile).message(), "profile.gender 'Q' is not H or V");
}

TEST_F(ProfileValidationTest, RefusesMalformedEntryDate) {
  for (const char* date : {"2019-13-01", "2019-02-30", "20190101", "2019-1-01"}) {
    ProfileInput profile;
    profile.entry_date = date;
    EXPECT_EQ(ErrorOf(profile).message(),
              std::string("profile.entry_date '") + date + "' is not a valid YYYY-MM-DD date");
  }
}

TEST_F(ProfileValidationTest, AcceptsEveryKnownCode) {
  const auto model = Build(testing::MakeTestModel());
  ProfileInput profile;
  profile.age = 35;
  profile.gender = "V";
  profile.salary = 0;
  profile.segment = "02 - PARTICULARES";
  profile.region_code = 28;
  profile.entry_channel = "not-a-channel";  // Unknown channels are pooled, not refused.
  profile.entry_date = "2019-02-28";
  profile.active = true;
  profile.deceased = false;
  auto result = Ask(*model, "10", profile);
  EXPECT_TRUE(result.ok()) << result.status();
}

// Cold start: the test model's one feature is age (mean 40, stddev 10) and
// its centroids are -1 and +1 in standardised units, i.e. ages 30 and 50.
// Cluster 0's mean factors are customer 10's (2, 1); cluster 1's are the
// mean of (0, 3) and (1, 1), (0.5, 2).
TEST_F(ProductRulesTest, UnknownYoungerProfileIsScoredWithTheNearestClusterMeanFactors) {
  // Age 25 standardises to -1.5: nearest centroid -1, cluster 0.
  // Scores (2,1) . V: a=2 b=1 c=3 d=1.
  const auto model = Build(testing::MakeTestModel());
  auto result = Ask(*model, "99", Aged(25));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->strategy, Strategy::kCluster);
  EXPECT_EQ(result->cluster_id, 0);
  EXPECT_EQ(Indices(*result), (std::vector<int32_t>{kC, kA, kB, kD}));
  EXPECT_EQ(Scores(*result), (std::vector<float>{3, 2, 1, 1}));
}

TEST_F(ProductRulesTest, UnknownOlderProfileIsScoredWithTheNearestClusterMeanFactors) {
  // Age 60 standardises to 2: nearest centroid +1, cluster 1.
  // Scores (0.5,2) . V: a=0.5 b=2 c=2.5 d=0.25.
  const auto model = Build(testing::MakeTestModel());
  auto result = Ask(*model, "99", Aged(60));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->strategy, Strategy::kCluster);
  EXPECT_EQ(result->cluster_id, 1);
  EXPECT_EQ(Indices(*result), (std::vector<int32_t>{kC, kB, kA, kD}));
  EXPECT_EQ(Scores(*result), (std::vector<float>{2.5f, 2, 0.5f, 0.25f}));
}

TEST_F(ProductRulesTest, ColdStartWithEmptyCurrentHoldingsUsesTheCluster) {
  const auto model = Build(testing::MakeTestModel());
  RecommendationQuery query;
  query.customer_id = "99";
  query.current_holdings = std::vector<absl::string_view>{};
  query.profile = Aged(60);
  auto result = Recommend(*model, query);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->strategy, Strategy::kCluster);
  EXPECT_EQ(result->cluster_id, 1);
}

TEST_F(ProductRulesTest, ClusterAnswerStillAppliesTheMinimumAge) {
  // Cluster 0 ranks c first, but a 16-year-old is not offered c.
  const auto model = Build(ModelWithRules());
  auto result = Ask(*model, "99", Aged(16));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->strategy, Strategy::kCluster);
  EXPECT_EQ(result->cluster_id, 0);
  EXPECT_EQ(Indices(*result), (std::vector<int32_t>{kA, kB, kD}));
}

TEST_F(ProductRulesTest, UnknownCustomerWithHoldingsIsFoldedInEvenWithAProfile) {
  // Fold-in comes before cold start: u = V[a] + V[c] = (2, 1), as in FoldInTest.
  const auto model = Build(testing::MakeTestModel());
  RecommendationQuery query;
  query.customer_id = "99";
  query.current_holdings = std::vector<absl::string_view>{"a", "c"};
  query.profile = Aged(60);
  auto result = Recommend(*model, query);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->strategy, Strategy::kFoldIn);
  EXPECT_EQ(result->cluster_id, std::nullopt);
  EXPECT_EQ(Indices(*result), (std::vector<int32_t>{kB, kD}));
}

TEST_F(ProductRulesTest, KnownCustomerWithAProfileKeepsItsOwnFactors) {
  // Age 60 would be cluster 1, but customer 10 is known (cluster 0).
  const auto model = Build(testing::MakeTestModel());
  auto result = Ask(*model, "10", Aged(60));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->strategy, Strategy::kPersonalised);
  EXPECT_EQ(result->cluster_id, 0);
  EXPECT_EQ(Scores(*result), (std::vector<float>{3, 1, 1}));
}

TEST_F(ProductRulesTest, ProfileWithoutAgeIsImputedFromTheFeatureSpec) {
  // The test feature's impute_value is 0 (unset): age 0 standardises to -4,
  // nearest centroid -1, cluster 0.
  const auto model = Build(testing::MakeTestModel());
  auto result = Ask(*model, "99", ProfileInput{});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->strategy, Strategy::kCluster);
  EXPECT_EQ(result->cluster_id, 0);
}

TEST_F(ProductRulesTest, UnknownCustomerWithoutAProfileStaysPopular) {
  const auto model = Build(testing::MakeTestModel());
  auto result = Ask(*model, "99");
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->strategy, Strategy::kPopular);
  EXPECT_EQ(result->cluster_id, std::nullopt);
}

}  // namespace
}  // namespace easymoney
