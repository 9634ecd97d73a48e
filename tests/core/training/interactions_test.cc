#include "core/training/interactions.h"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/model/model.h"
#include "core/model/recommender.h"
#include "core/training/evaluation.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/test_model.h"

namespace easymoney {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string WriteFile(const std::string& name, const std::string& contents) {
  const std::string path = (std::filesystem::path(testing::MakeTempDir("interactions")) / name).string();
  std::ofstream(path, std::ios::binary) << contents;
  return path;
}

// The products and values of one customer row, as (product id, value).
std::vector<std::pair<std::string, float>> Row(const Interactions& data, int64_t row) {
  std::vector<std::pair<std::string, float>> out;
  for (int64_t k = data.indptr[row]; k < data.indptr[row + 1]; ++k) {
    out.emplace_back(data.product_ids[data.products[k]], data.values[k]);
  }
  return out;
}

TEST(ReadInteractionsTest, ReadsCsvWithHeaderAndDefaultsValueToOne) {
  const std::string path = WriteFile("log.csv",
                                     "customer_id,product_id\r\n"
                                     "7,shoes\r\n"
                                     "3,hat\r\n"
                                     "\r\n"
                                     "7,hat\r\n");
  auto data = ReadInteractions(path);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_THAT(data->customer_ids, ElementsAre(3, 7));
  EXPECT_THAT(data->product_ids, ElementsAre("hat", "shoes"));
  EXPECT_THAT(Row(*data, 0), ElementsAre(std::pair<std::string, float>("hat", 1.0f)));
  EXPECT_THAT(Row(*data, 1), ElementsAre(std::pair<std::string, float>("hat", 1.0f),
                                         std::pair<std::string, float>("shoes", 1.0f)));
}

TEST(ReadInteractionsTest, ReadsMovieLensTabSeparatedWithoutHeader) {
  const std::string path = WriteFile("u.data",
                                     "196\t242\t3\t881250949\n"
                                     "186\t302\t3\t891717742\n"
                                     "196\t10\t5\t881250950\n");
  auto data = ReadInteractions(path);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_THAT(data->customer_ids, ElementsAre(186, 196));
  // Numeric ids sort numerically, not as strings ("10" < "242" < "302").
  EXPECT_THAT(data->product_ids, ElementsAre("10", "242", "302"));
  EXPECT_THAT(Row(*data, 1), ElementsAre(std::pair<std::string, float>("10", 5.0f),
                                         std::pair<std::string, float>("242", 3.0f)));
  EXPECT_EQ(data->num_interactions(), 3);
}

TEST(ReadInteractionsTest, KeepsTheLastValueOfADuplicatePair) {
  const std::string path = WriteFile("log.csv",
                                     "customer_id,product_id,value,timestamp\n"
                                     "1,a,2,100\n"
                                     "1,b,1,100\n"
                                     "1,a,4.5,200\n");
  auto data = ReadInteractions(path);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_THAT(Row(*data, 0), ElementsAre(std::pair<std::string, float>("a", 4.5f),
                                         std::pair<std::string, float>("b", 1.0f)));
}

TEST(ReadInteractionsTest, RejectsANonPositiveCustomerIdNamingFileLineColumnAndValue) {
  const std::string path = WriteFile("log.csv", "customer_id,product_id\n1,a\n-4,b\n");
  auto data = ReadInteractions(path);
  ASSERT_FALSE(data.ok());
  EXPECT_EQ(data.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(data.status().message(), HasSubstr(path + ":3: column 1 'customer_id' value '-4'"));
}

TEST(ReadInteractionsTest, RejectsANonNumericCustomerIdInTabSeparatedFiles) {
  const std::string path = WriteFile("u.data", "1\t5\t3\t0\nabc\t5\t3\t0\n");
  auto data = ReadInteractions(path);
  ASSERT_FALSE(data.ok());
  EXPECT_THAT(data.status().message(), HasSubstr(path + ":2: column 1 'customer_id' value 'abc'"));
}

TEST(ReadInteractionsTest, RejectsAnEmptyProductIdAndABadValue) {
  auto empty_product = ReadInteractions(WriteFile("a.csv", "customer_id,product_id\n1,\n"));
  ASSERT_FALSE(empty_product.ok());
  EXPECT_THAT(empty_product.status().message(), HasSubstr(":2: column 2 'product_id'"));
  auto bad_value = ReadInteractions(WriteFile("b.csv", "customer_id,product_id,value\n1,a,nan\n2,a,x\n"));
  ASSERT_FALSE(bad_value.ok());
  EXPECT_THAT(bad_value.status().message(), HasSubstr(":2: column 3 'value' value 'nan'"));
}

TEST(ReadInteractionsTest, RejectsAnUnknownHeader) {
  auto data = ReadInteractions(WriteFile("log.csv", "user,item\n1,a\n"));
  ASSERT_FALSE(data.ok());
  EXPECT_THAT(data.status().message(), HasSubstr(":1: header is 'user,item'"));
}

TEST(ReadInteractionsTest, ReportsAMissingFileAsNotFound) {
  auto data = ReadInteractions("/nonexistent/interactions.csv");
  EXPECT_EQ(data.status().code(), absl::StatusCode::kNotFound);
}

// 200 customers with 1..40 interactions each over 100 products.
Interactions RandomInteractions() {
  Interactions data;
  for (int p = 0; p < 100; ++p) data.product_ids.push_back(std::to_string(p));
  std::mt19937 rng(7);
  data.indptr.push_back(0);
  for (int c = 0; c < 200; ++c) {
    data.customer_ids.push_back(1000 + c);
    std::vector<int32_t> products(100);
    for (int p = 0; p < 100; ++p) products[p] = p;
    std::shuffle(products.begin(), products.end(), rng);
    const int n = 1 + c % 40;
    products.resize(n);
    std::sort(products.begin(), products.end());
    for (int32_t p : products) {
      data.products.push_back(p);
      data.values.push_back(static_cast<float>(p % 5 + 1));
    }
    data.indptr.push_back(data.num_interactions());
  }
  return data;
}

TEST(SplitInteractionsTest, PartsAreDisjointAndTogetherAreTheInput) {
  const Interactions all = RandomInteractions();
  const InteractionsSplit split = SplitInteractionsPerCustomer(all, 0.25, 42);
  ASSERT_EQ(split.train.customer_ids, all.customer_ids);
  ASSERT_EQ(split.test.customer_ids, all.customer_ids);
  for (int64_t row = 0; row < all.num_customers(); ++row) {
    auto train = Row(split.train, row);
    auto test = Row(split.test, row);
    for (const auto& item : test) EXPECT_EQ(std::count(train.begin(), train.end(), item), 0);
    train.insert(train.end(), test.begin(), test.end());
    std::sort(train.begin(), train.end());
    auto expected = Row(all, row);
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(train, expected) << "customer row " << row;
  }
}

TEST(SplitInteractionsTest, HoldsOutTheRequestedFractionOfEachCustomerAndKeepsOneForTraining) {
  const Interactions all = RandomInteractions();
  const InteractionsSplit split = SplitInteractionsPerCustomer(all, 0.25, 42);
  for (int64_t row = 0; row < all.num_customers(); ++row) {
    const int64_t n = all.indptr[row + 1] - all.indptr[row];
    const int64_t held = split.test.indptr[row + 1] - split.test.indptr[row];
    const int64_t kept = split.train.indptr[row + 1] - split.train.indptr[row];
    EXPECT_GE(kept, 1) << "customer row " << row;
    EXPECT_EQ(held, std::min<int64_t>(n - 1, std::llround(0.25 * static_cast<double>(n)))) << "n=" << n;
  }
}

TEST(SplitInteractionsTest, IsDeterministicForASeedAndDiffersAcrossSeeds) {
  const Interactions all = RandomInteractions();
  const InteractionsSplit a = SplitInteractionsPerCustomer(all, 0.25, 42);
  const InteractionsSplit b = SplitInteractionsPerCustomer(all, 0.25, 42);
  const InteractionsSplit c = SplitInteractionsPerCustomer(all, 0.25, 43);
  EXPECT_EQ(a.test.products, b.test.products);
  EXPECT_EQ(a.test.indptr, b.test.indptr);
  EXPECT_NE(a.test.products, c.test.products);
}

// Five tastes of 20 products each; a customer of taste t interacts with 12
// random products of its taste and 2 random products anywhere. Taste 0 has
// most customers, so popularity recommends its products to everybody; only
// a model that sees the tastes serves the other customers well.
std::string WritePlantedTastes() {
  std::mt19937 rng(11);
  std::string csv = "customer_id,product_id,value\n";
  for (int c = 1; c <= 400; ++c) {
    const int taste = c % 2 == 0 ? 0 : 1 + (c / 2) % 4;
    std::vector<int> products(20);
    for (int i = 0; i < 20; ++i) products[i] = taste * 20 + i;
    std::shuffle(products.begin(), products.end(), rng);
    products.resize(12);
    for (int i = 0; i < 2; ++i) products.push_back(static_cast<int>(rng() % 100));
    for (int p : products) csv += std::to_string(c) + ",item" + std::to_string(p) + ",1\n";
  }
  return WriteFile("tastes.csv", csv);
}

InteractionsTrainerOptions PlantedTastesOptions() {
  InteractionsTrainerOptions options;
  options.interactions_path = WritePlantedTastes();
  options.model_base = testing::MakeTempDir("models");
  options.k = 5;
  options.rank_candidates = {1, 3, 5, 8};
  options.popularity_exponents = {0, 0.3};
  options.activity_exponents = {0};
  options.ease_regularisations = {1, 8};
  options.ease_ranks = {3, 8, 20};
  options.blend_svd_ranks = {1, 3};
  options.blend_weights = {0.5, 2};
  options.num_clusters = 5;
  return options;
}

TEST(TrainInteractionsModelTest, BeatsPopularityOnPlantedTastesAndWritesALoadableVersion) {
  InteractionsTrainerOptions options = PlantedTastesOptions();
  options.ease_ranks = {1, 3, 5, 8};  // A curve of four points either way.
  auto result = TrainInteractionsModel(options);
  ASSERT_TRUE(result.ok()) << result.status();

  const TrainingReport& report = result->report;
  ASSERT_EQ(report.methods.size(), 2u);
  EXPECT_EQ(report.methods[1].first, "popularity");
  const RankingMetrics& model = report.methods[0].second;
  const RankingMetrics& popularity = report.methods[1].second;
  EXPECT_EQ(model.customers, 400);
  EXPECT_GT(model.precision, 1.5 * popularity.precision) << FormatInteractionsReport(*result);
  const InteractionsModelConfig& config = result->config;
  const bool blend = config.factorisation == Factorisation::kBlend;
  EXPECT_EQ(report.rank_curve.size(), blend ? 2u : 4u);
  EXPECT_EQ(report.chosen_rank, blend ? config.blend_svd_rank : config.rank);
  EXPECT_GE(config.rank, 3);  // Fewer factors cannot tell five tastes apart.

  auto loaded = Model::Load(result->version_dir, result->version);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const Model& served = **loaded;
  EXPECT_EQ(served.num_customers(), 400);
  EXPECT_EQ(served.num_products(), 100);
  EXPECT_EQ(served.num_factors(), NumFactors(config));
  EXPECT_EQ(served.product(0).family(), "item");
  EXPECT_TRUE(served.FindProduct("item42").has_value());
  ASSERT_EQ(served.manifest().features_size(), NumFactors(config));
  EXPECT_EQ(served.manifest().features(0).name(), "factor_0");
  // Every customer holds 12-14 products, all of them in the served holdings.
  const std::optional<int64_t> row = served.FindCustomer(2);
  ASSERT_TRUE(row.has_value());
  EXPECT_GE(served.customer_holdings(*row).size(), 12u);
}

TEST(TrainInteractionsModelTest, ChoosesAmongTheFactorisationsOnValidationAndReportsEach) {
  auto result = TrainInteractionsModel(PlantedTastesOptions());
  ASSERT_TRUE(result.ok()) << result.status();
  const TrainingReport& report = result->report;
  ASSERT_EQ(report.factorisations.size(), 3u);
  EXPECT_EQ(report.factorisations[0].name, "PureSVD");
  EXPECT_EQ(report.factorisations[1].name, "EASE");
  EXPECT_EQ(report.factorisations[2].name, "EASE + PureSVD");
  // The finalists are compared on a second validation split; the highest
  // score there wins, a tie going to fewer factors, then to the earlier
  // family. Test figures play no part.
  const auto factors = [](const std::string& configuration) {
    // "... rank N" per part; the blend has two.
    int total = 0;
    for (size_t at = configuration.find("rank "); at != std::string::npos; at = configuration.find("rank ", at + 5)) {
      total += std::stoi(configuration.substr(at + 5));
    }
    return total;
  };
  int expected = -1;
  int chosen_count = 0;
  for (int i = 0; i < 3; ++i) {
    const auto& f = report.factorisations[static_cast<size_t>(i)];
    ASSERT_TRUE(f.tried && f.tested) << f.name;
    ASSERT_GE(f.confirmation_score, 0) << f.name;
    const auto& incumbent = report.factorisations[static_cast<size_t>(std::max(expected, 0))];
    const bool better = expected < 0 || f.confirmation_score > incumbent.confirmation_score ||
                        (f.confirmation_score == incumbent.confirmation_score &&
                         factors(f.configuration) < factors(incumbent.configuration));
    if (better) expected = i;
    chosen_count += f.chosen ? 1 : 0;
  }
  EXPECT_EQ(chosen_count, 1);
  EXPECT_TRUE(report.factorisations[static_cast<size_t>(expected)].chosen) << FormatInteractionsReport(*result);
  const Factorisation kinds[] = {Factorisation::kPureSvd, Factorisation::kEase, Factorisation::kBlend};
  EXPECT_EQ(result->config.factorisation, kinds[expected]);
  const auto& chosen = report.factorisations[static_cast<size_t>(expected)];
  EXPECT_EQ(report.methods[0].second.precision, chosen.test.precision);
  EXPECT_THAT(report.methods[0].first, HasSubstr(chosen.configuration));
  // The blend's EASE part is EASE's finalist: "regularisation R x mean
  // product count, rank N" in both.
  const std::string& ease_text = report.factorisations[1].configuration;
  const size_t settings = ease_text.find("regularisation");
  ASSERT_NE(settings, std::string::npos) << ease_text;
  EXPECT_THAT(report.factorisations[2].configuration,
              HasSubstr(absl::StrCat("EASE ", ease_text.substr(settings), ";")));
  EXPECT_THAT(FormatInteractionsReport(*result), HasSubstr("Factorisations"));

  auto loaded = Model::Load(result->version_dir, result->version);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const auto& evaluation = (*loaded)->manifest().evaluation();
  ASSERT_EQ(evaluation.factorisations_size(), 3);
  for (int i = 0; i < 3; ++i) {
    const auto& f = report.factorisations[static_cast<size_t>(i)];
    EXPECT_EQ(evaluation.factorisations(i).name(), f.name);
    EXPECT_EQ(evaluation.factorisations(i).chosen(), f.chosen);
    EXPECT_DOUBLE_EQ(evaluation.factorisations(i).validation_score(), f.validation_score);
    EXPECT_DOUBLE_EQ(evaluation.factorisations(i).confirmation_score(), f.confirmation_score);
    EXPECT_DOUBLE_EQ(evaluation.factorisations(i).test().precision(), f.test.precision);
  }
  ASSERT_GE(evaluation.methods_size(), 2);
  EXPECT_DOUBLE_EQ(evaluation.methods(0).map_full(), report.methods[0].second.map_full_normaliser);
  EXPECT_EQ((*loaded)->num_factors(), NumFactors(result->config));
}

TEST(TrainInteractionsModelTest, EaseAndTheBlendAreNotTriedAboveTheCatalogueLimitAndTheReportSaysSo) {
  InteractionsTrainerOptions options = PlantedTastesOptions();
  options.ease_max_products = 99;  // The catalogue has 100.
  auto result = TrainInteractionsModel(options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->config.factorisation, Factorisation::kPureSvd);
  ASSERT_EQ(result->report.factorisations.size(), 3u);
  const auto& ease = result->report.factorisations[1];
  EXPECT_FALSE(ease.tried);
  EXPECT_FALSE(ease.chosen);
  EXPECT_THAT(ease.configuration, HasSubstr("100 products, above the limit of 99"));
  const auto& blend = result->report.factorisations[2];
  EXPECT_FALSE(blend.tried);
  EXPECT_THAT(blend.configuration, HasSubstr("its EASE part cannot be fitted: 100 products, above the limit of 99"));
}

TEST(TrainInteractionsModelTest, RefusesWhenOnlyTheBlendIsAskedForAndEaseCannotBeFitted) {
  InteractionsTrainerOptions options = PlantedTastesOptions();
  options.try_pure_svd = false;
  options.try_ease = false;
  options.ease_max_products = 99;
  auto result = TrainInteractionsModel(options);
  ASSERT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(result.status().message(), HasSubstr("its EASE part cannot be fitted"));
}

TEST(TrainInteractionsModelTest, MaxFactorsKeepsEveryCandidateWithinTheCapAndSaysWhatItRuledOut) {
  InteractionsTrainerOptions options = PlantedTastesOptions();
  options.max_factors = 5;  // EASE's ranks are 3, 8 and 20; the blend can only be 3 + 1.
  auto result = TrainInteractionsModel(options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_LE(NumFactors(result->config), 5) << FormatInteractionsReport(*result);
  for (const auto& f : result->report.factorisations) {
    ASSERT_TRUE(f.tried) << f.name;
    EXPECT_THAT(f.configuration, ::testing::Not(HasSubstr("rank 8"))) << f.name;
    EXPECT_THAT(f.configuration, ::testing::Not(HasSubstr("rank 20"))) << f.name;
  }
  EXPECT_THAT(result->report.factorisations[1].configuration, HasSubstr("rank 3"));
  auto loaded = Model::Load(result->version_dir, result->version);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_LE((*loaded)->num_factors(), 5);

  // EASE may take the whole cap; the blend's EASE part leaves room for
  // its PureSVD part.
  options.max_factors = 8;
  options.model_base = testing::MakeTempDir("room");
  auto room = TrainInteractionsModel(options);
  ASSERT_TRUE(room.ok()) << room.status();
  // Rank 3 cannot tell five tastes apart, so EASE takes 8, the whole cap...
  ASSERT_THAT(room->report.factorisations[1].configuration, HasSubstr("rank 8")) << FormatInteractionsReport(*room);
  // ...and the blend, which would have no room on EASE's finalist, is
  // built on rank 3.
  ASSERT_TRUE(room->report.factorisations[2].tried) << FormatInteractionsReport(*room);
  EXPECT_THAT(room->report.factorisations[2].configuration, HasSubstr("rank 3; PureSVD"));

  // A cap below every EASE rank leaves EASE and the blend out, saying why.
  options.max_factors = 2;
  options.model_base = testing::MakeTempDir("capped");
  auto capped = TrainInteractionsModel(options);
  ASSERT_TRUE(capped.ok()) << capped.status();
  EXPECT_EQ(capped->config.factorisation, Factorisation::kPureSvd);
  EXPECT_EQ(capped->config.rank, 1);
  EXPECT_THAT(capped->report.factorisations[1].configuration, HasSubstr("no candidate has at most 2 factors"));
  EXPECT_THAT(capped->report.factorisations[2].configuration, HasSubstr("no candidate has at most 2 factors"));

  options.try_pure_svd = false;
  auto nothing = TrainInteractionsModel(options);
  ASSERT_EQ(nothing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(nothing.status().message(), HasSubstr("has at most 2 factors"));
  options.max_factors = -1;
  EXPECT_EQ(TrainInteractionsModel(options).status().code(), absl::StatusCode::kInvalidArgument);
}

// A customer the version does not know, sending a known customer's
// holdings, is folded in; the answer must be the known customer's.
void ExpectFoldInAnswersLikeTheStoredFactors(const InteractionsTrainingResult& result) {
  auto loaded = Model::Load(result.version_dir, result.version);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const Model& model = **loaded;
  for (int64_t id : {2, 3, 5, 400}) {
    const std::optional<int64_t> row = model.FindCustomer(id);
    ASSERT_TRUE(row.has_value());
    const std::string known_id = std::to_string(id);
    RecommendationQuery stored;
    stored.customer_id = known_id;
    stored.num_results = 10;
    auto stored_answer = Recommend(model, stored);
    ASSERT_TRUE(stored_answer.ok()) << stored_answer.status();
    ASSERT_EQ(stored_answer->strategy, Strategy::kPersonalised);

    std::vector<absl::string_view> held;
    for (int32_t p : model.customer_holdings(*row)) held.push_back(model.product(p).id());
    const std::string unknown_id = std::to_string(1000000 + id);
    RecommendationQuery folded;
    folded.customer_id = unknown_id;
    folded.num_results = 10;
    folded.current_holdings = held;
    auto folded_answer = Recommend(model, folded);
    ASSERT_TRUE(folded_answer.ok()) << folded_answer.status();
    ASSERT_EQ(folded_answer->strategy, Strategy::kFoldIn);
    ASSERT_EQ(folded_answer->products.size(), stored_answer->products.size());
    for (size_t i = 0; i < stored_answer->products.size(); ++i) {
      EXPECT_EQ(folded_answer->products[i].index, stored_answer->products[i].index) << "customer " << id << " #" << i;
      EXPECT_NEAR(folded_answer->products[i].score, stored_answer->products[i].score, 1e-4f);
    }
  }
}

// Trains the planted tastes with only `factorisation` asked for and checks
// that it was the one chosen.
void ExpectFoldInAnswersLikeTheStoredFactorsWithOnly(Factorisation factorisation) {
  InteractionsTrainerOptions options = PlantedTastesOptions();
  options.try_pure_svd = factorisation == Factorisation::kPureSvd;
  options.try_ease = factorisation == Factorisation::kEase;
  options.try_blend = factorisation == Factorisation::kBlend;
  auto result = TrainInteractionsModel(options);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->config.factorisation, factorisation) << FormatInteractionsReport(*result);
  ExpectFoldInAnswersLikeTheStoredFactors(*result);
}

TEST(TrainInteractionsModelTest, EaseFoldInFromCurrentHoldingsAnswersLikeTheStoredFactors) {
  ExpectFoldInAnswersLikeTheStoredFactorsWithOnly(Factorisation::kEase);
}

// The popularity exponent shapes the PureSVD part's subspace, but its
// factors are summed unweighted, like EASE's: fold-in stays exact.
TEST(TrainInteractionsModelTest, BlendFoldInFromCurrentHoldingsAnswersLikeTheStoredFactors) {
  ExpectFoldInAnswersLikeTheStoredFactorsWithOnly(Factorisation::kBlend);
}

TEST(TrainInteractionsModelTest, WritesTheTestSplitFitWhoseServedAnswersReproduceTheTestFigures) {
  InteractionsTrainerOptions options = PlantedTastesOptions();
  options.evaluation_model_base = testing::MakeTempDir("evaluation");
  auto result = TrainInteractionsModel(options);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->evaluation_version, 1);
  auto loaded = Model::Load((std::filesystem::path(options.evaluation_model_base) / "1").string(), 1);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  auto heldout = ReadInteractions((std::filesystem::path(options.evaluation_model_base) / "test_interactions.csv").string());
  ASSERT_TRUE(heldout.ok()) << heldout.status();
  auto train = ReadInteractions((std::filesystem::path(options.evaluation_model_base) / "train_interactions.csv").string());
  ASSERT_TRUE(train.ok()) << train.status();
  EXPECT_EQ(heldout->num_customers(), 400);
  // The version holds the training part: what the server excludes.
  EXPECT_EQ(static_cast<int64_t>((*loaded)->num_customers()), 400);

  // Ranked the way the server ranks (core's Recommend), scored like the
  // trainer scores.
  RankingEvaluator evaluator(options.k, heldout->num_products());
  std::vector<int32_t> ranked;
  for (int64_t row = 0; row < heldout->num_customers(); ++row) {
    const std::string id = std::to_string(heldout->customer_ids[row]);
    RecommendationQuery query;
    query.customer_id = id;
    query.num_results = options.k;
    auto answer = Recommend(**loaded, query);
    ASSERT_TRUE(answer.ok()) << answer.status();
    ranked.clear();
    for (const auto& scored : answer->products) {
      const auto it = std::find(heldout->product_ids.begin(), heldout->product_ids.end(),
                                (*loaded)->product(scored.index).id());
      ranked.push_back(it == heldout->product_ids.end() ? -1 : static_cast<int32_t>(it - heldout->product_ids.begin()));
    }
    evaluator.AddRanked(ranked, std::span<const int32_t>(heldout->products)
                                    .subspan(static_cast<size_t>(heldout->indptr[row]),
                                             static_cast<size_t>(heldout->indptr[row + 1] - heldout->indptr[row])));
  }
  const RankingMetrics served = evaluator.Result();
  const RankingMetrics& trained = result->report.methods[0].second;
  EXPECT_NEAR(served.precision, trained.precision, 2e-3);
  EXPECT_NEAR(served.ndcg, trained.ndcg, 2e-3);
  EXPECT_NEAR(served.map_full_normaliser, trained.map_full_normaliser, 2e-3);
  EXPECT_NEAR(served.recall, trained.recall, 2e-3);
}

}  // namespace
}  // namespace easymoney
