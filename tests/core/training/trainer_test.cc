#include "core/training/trainer.h"

#include "core/serving/event_log.h"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "core/training/datagen.h"
#include "core/model/easymoney_schema.h"
#include "core/model/model.h"
#include "core/model/model_directory.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/test_model.h"

namespace easymoney {
namespace {

using ::testing::Contains;
using ::testing::ContainsRegex;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

// Enough customers that each fairness dimension, region included, has two
// groups with the 30 acquirers the trainer needs to compare them (with 3000
// customers Madrid, the second largest region group, has only 27).
constexpr int64_t kNumCustomers = 6000;
constexpr uint64_t kDataSeed = 5;

// Small candidate lists keep a training run well under a second.
TrainerOptions FastOptions(const std::string& data_dir, const std::string& model_base) {
  TrainerOptions options;
  options.data_dir = data_dir;
  options.model_base = model_base;
  options.rank_candidates = {1, 2, 3};
  options.cluster_candidates = {2, 3};
  options.recency_candidates = {1};
  options.popularity_candidates = {0, 1};
  options.kmeans_restarts = 1;
  return options;
}

// Fixed hyper-parameters and no backtest: the quickest run that writes a
// version.
TrainerOptions NoSelectionOptions(const std::string& data_dir, const std::string& model_base) {
  TrainerOptions options = FastOptions(data_dir, model_base);
  options.num_factors = 2;
  options.num_clusters = 2;
  options.recency_weight = 1;
  options.popularity_weight = 0;
  options.backtest_months = 0;
  return options;
}

std::shared_ptr<const Model> LoadVersion(const TrainingSummary& summary) {
  auto model = Model::Load(summary.version_dir, summary.version);
  EXPECT_TRUE(model.ok()) << model.status();
  return model.ok() ? *model : nullptr;
}

// One generated data set and one training run with model selection, shared
// by the tests that only read them.
class TrainerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    data_dir_ = new std::string(testing::MakeTempDir("easymoney-data"));
    DatagenOptions datagen;
    datagen.num_customers = kNumCustomers;
    datagen.seed = kDataSeed;
    datagen.out_dir = *data_dir_;
    const auto profile = GenerateEasyMoneyTables(datagen);
    ASSERT_TRUE(profile.ok()) << profile.status();
    auto summary = TrainEasyMoneyModel(FastOptions(*data_dir_, testing::MakeTempDir("models")));
    ASSERT_TRUE(summary.ok()) << summary.status();
    summary_ = new TrainingSummary(*std::move(summary));
  }

  static void TearDownTestSuite() {
    delete summary_;
    summary_ = nullptr;
    delete data_dir_;
    data_dir_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(summary_, nullptr) << "the shared data set or training run failed";
  }

  static const std::string& data_dir() { return *data_dir_; }
  static const TrainingSummary& summary() { return *summary_; }

 private:
  static std::string* data_dir_;
  static TrainingSummary* summary_;
};

std::string* TrainerTest::data_dir_ = nullptr;
TrainingSummary* TrainerTest::summary_ = nullptr;

TEST_F(TrainerTest, WritesAVersionThatLoads) {
  EXPECT_EQ(summary().version, 1);
  const auto model = LoadVersion(summary());
  ASSERT_NE(model, nullptr);
  EXPECT_EQ(model->num_products(), static_cast<int>(kProducts.size()));
  EXPECT_EQ(model->num_customers(), summary().num_customers);
  EXPECT_EQ(model->num_factors(), summary().num_factors);
  EXPECT_EQ(model->manifest().training().partition(), kPartitions.back());
  EXPECT_EQ(summary().partition, kPartitions.back());
}

TEST_F(TrainerTest, TrainsOnEveryCustomerOfTheNewestPartition) {
  // datagen customers never leave, so all of them are in the last month.
  EXPECT_EQ(summary().num_customers, kNumCustomers);
}

TEST_F(TrainerTest, ManifestListsTheModelFirstThenTheThreeBaselines) {
  const auto model = LoadVersion(summary());
  ASSERT_NE(model, nullptr);
  std::vector<std::string> methods;
  for (const auto& m : model->manifest().evaluation().methods()) {
    methods.push_back(m.method());
    EXPECT_EQ(m.k(), 7);
    EXPECT_GT(m.relevant_customers(), 0) << m.method();
    EXPECT_LE(m.relevant_customers(), m.customers()) << m.method();
  }
  EXPECT_THAT(methods, ElementsAre("SVD model", "popular acquisitions", "cluster popularity", "segment popularity"));
}

TEST_F(TrainerTest, ManifestDescribesTheEvaluationProtocol) {
  const auto model = LoadVersion(summary());
  ASSERT_NE(model, nullptr);
  const std::string& protocol = model->manifest().evaluation().protocol();
  EXPECT_THAT(protocol, HasSubstr("rolling backtest"));
  // The default three backtest months end one month before the newest.
  EXPECT_THAT(protocol, HasSubstr(absl::StrCat(kPartitions[13], " .. ", kPartitions[15])));
}

TEST_F(TrainerTest, ManifestRecordsTheChosenFactorisationsRankCurve) {
  const auto model = LoadVersion(summary());
  ASSERT_NE(model, nullptr);
  // PureSVD: one point per rank candidate; EASE: the whole catalogue.
  if (absl::StrContains(model->manifest().training().selection(), "EASE (regularisation ")) {
    EXPECT_THAT(model->manifest().evaluation().rank_curve(),
                ElementsAre(HasSubstr(absl::StrCat("rank ", kProducts.size(), ":"))));
  } else {
    EXPECT_THAT(model->manifest().evaluation().rank_curve(),
                ElementsAre(HasSubstr("rank 1:"), HasSubstr("rank 2:"), HasSubstr("rank 3:")));
  }
}

TEST_F(TrainerTest, ManifestRecordsOneKCurvePointPerCandidate) {
  const auto model = LoadVersion(summary());
  ASSERT_NE(model, nullptr);
  EXPECT_THAT(model->manifest().evaluation().k_curve(),
              ElementsAre(HasSubstr("k 2: silhouette"), HasSubstr("k 3: silhouette")));
}

TEST_F(TrainerTest, ChosenValuesComeFromTheCandidatesAndAreExplained) {
  const auto model = LoadVersion(summary());
  ASSERT_NE(model, nullptr);
  const auto& training = model->manifest().training();
  // EASE factors the whole catalogue; PureSVD takes a rank candidate.
  const bool ease = absl::StrContains(training.selection(), "EASE (regularisation ");
  if (ease) {
    EXPECT_EQ(training.num_factors(), static_cast<int>(kProducts.size()));
  } else {
    EXPECT_THAT(training.num_factors(), ::testing::AnyOf(1, 2, 3));
  }
  EXPECT_THAT(training.num_clusters(), ::testing::AnyOf(2, 3));
  EXPECT_EQ(training.recency_weight(), 1);
  EXPECT_THAT(training.selection(), HasSubstr(absl::StrCat("k=", training.num_clusters(), " ")));
  EXPECT_THAT(training.selection(), HasSubstr(absl::StrCat("rank=", training.num_factors(), ",")));
  EXPECT_THAT(training.selection(), HasSubstr("recency weight=1,"));
  EXPECT_THAT(training.selection(), ContainsRegex("popularity prior=(0|1) "));
  EXPECT_EQ(summary().num_factors, training.num_factors());
  EXPECT_EQ(summary().num_clusters, training.num_clusters());
}

TEST_F(TrainerTest, ManifestRecordsBothFactorisationsWithTheirValidationAndBacktestFigures) {
  const auto model = LoadVersion(summary());
  ASSERT_NE(model, nullptr);
  const auto& evaluation = model->manifest().evaluation();
  ASSERT_EQ(evaluation.factorisations_size(), 2);
  EXPECT_EQ(evaluation.factorisations(0).name(), "PureSVD");
  EXPECT_EQ(evaluation.factorisations(1).name(), "EASE");
  EXPECT_NE(evaluation.factorisations(0).chosen(), evaluation.factorisations(1).chosen());
  const int chosen = evaluation.factorisations(0).chosen() ? 0 : 1;
  // The finalists were compared on the month before validation; the higher
  // score there chose (a tie keeps PureSVD) ...
  ASSERT_TRUE(evaluation.factorisations(0).has_confirmation_score());
  ASSERT_TRUE(evaluation.factorisations(1).has_confirmation_score());
  if (chosen == 1) {
    EXPECT_GT(evaluation.factorisations(1).confirmation_score(), evaluation.factorisations(0).confirmation_score());
  } else {
    EXPECT_GE(evaluation.factorisations(0).confirmation_score(), evaluation.factorisations(1).confirmation_score());
  }
  // ... and the chosen one's backtest is the model's.
  ASSERT_GE(evaluation.methods_size(), 1);
  EXPECT_DOUBLE_EQ(evaluation.factorisations(chosen).test().map_relevant(), evaluation.methods(0).map_relevant());
  EXPECT_THAT(model->manifest().training().selection(),
              HasSubstr(chosen == 1 ? "EASE (regularisation " : "PureSVD, rank="));
}

// Product ids with no 1 in any row of customer_products.csv, read directly.
std::vector<std::string> ProductsNeverHeld(const std::string& data_dir) {
  std::ifstream in(std::filesystem::path(data_dir) / std::string(kProductsFile));
  std::string line;
  std::getline(in, line);  // Header.
  std::vector<bool> held(kProducts.size(), false);
  while (std::getline(in, line)) {
    const std::vector<absl::string_view> fields = absl::StrSplit(line, ',');
    for (size_t p = 0; p < kProducts.size() && 2 + p < fields.size(); ++p) {
      if (fields[2 + p] == "1") held[p] = true;
    }
  }
  std::vector<std::string> never;
  for (size_t p = 0; p < kProducts.size(); ++p) {
    if (!held[p]) never.emplace_back(kProducts[p].id);
  }
  return never;
}

TEST_F(TrainerTest, ProductsNobodyHeldAreNeverRecommended) {
  const std::vector<std::string> never_held = ProductsNeverHeld(data_dir());
  ASSERT_THAT(never_held, Contains("em_account_pp"));
  const auto model = LoadVersion(summary());
  ASSERT_NE(model, nullptr);
  std::vector<std::string> never_recommend;
  for (int p = 0; p < model->num_products(); ++p) {
    if (model->product(p).never_recommend()) never_recommend.push_back(model->product(p).id());
  }
  EXPECT_EQ(never_recommend, never_held);
}

TEST_F(TrainerTest, ReportHasAFairnessLinePerGroupDimension) {
  EXPECT_THAT(summary().report.fairness_flags,
              ElementsAre(ContainsRegex("^(FLAG )?age band: largest gap"), ContainsRegex("^(FLAG )?gender: largest gap"),
                          ContainsRegex("^(FLAG )?region: largest gap"), ContainsRegex("^(FLAG )?segment: largest gap")));
  std::vector<std::string> dimensions;
  for (const auto& group : summary().report.groups) {
    if (dimensions.empty() || dimensions.back() != group.dimension) dimensions.push_back(group.dimension);
  }
  EXPECT_THAT(dimensions, ElementsAre("age band", "gender", "region", "segment"));
  const auto model = LoadVersion(summary());
  ASSERT_NE(model, nullptr);
  EXPECT_THAT(model->manifest().evaluation().fairness(), SizeIs(4));
}

TEST_F(TrainerTest, FixedHyperParametersSkipSelection) {
  TrainerOptions options = FastOptions(data_dir(), testing::MakeTempDir("models"));
  options.num_factors = 2;
  options.num_clusters = 3;
  options.recency_weight = 3;
  options.popularity_weight = 0.5;
  const auto summary = TrainEasyMoneyModel(options);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->num_factors, 2);
  EXPECT_EQ(summary->num_clusters, 3);
  EXPECT_EQ(summary->recency_weight, 3);
  EXPECT_THAT(summary->report.rank_curve, ::testing::IsEmpty());
  EXPECT_THAT(summary->report.k_curve, ::testing::IsEmpty());
  const auto model = LoadVersion(*summary);
  ASSERT_NE(model, nullptr);
  EXPECT_EQ(model->num_factors(), 2);
  EXPECT_EQ(model->manifest().num_clusters(), 3);
  EXPECT_EQ(model->manifest().training().recency_weight(), 3);
  EXPECT_THAT(model->manifest().training().selection(), ::testing::IsEmpty());
  // The prior's weight is given relative to the most popular product.
  const std::span<const float> popularity = model->product_popularity();
  const float top = *std::max_element(popularity.begin(), popularity.end());
  EXPECT_NEAR(model->popularity_weight(), 0.5 / top, 1e-4 / top);
  // Fixed values are still evaluated.
  EXPECT_EQ(model->manifest().evaluation().methods_size(), 4);
}

TEST_F(TrainerTest, SameSeedGivesTheSameModel) {
  const auto again = TrainEasyMoneyModel(FastOptions(data_dir(), testing::MakeTempDir("models")));
  ASSERT_TRUE(again.ok()) << again.status();
  const auto first = LoadVersion(summary());
  const auto second = LoadVersion(*again);
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  EXPECT_THAT(second->customer_ids(), ::testing::ElementsAreArray(first->customer_ids()));
  EXPECT_TRUE(second->customer_factor_matrix() == first->customer_factor_matrix());
  EXPECT_THAT(second->customer_clusters(), ::testing::ElementsAreArray(first->customer_clusters()));
  EXPECT_TRUE(second->cluster_centroids() == first->cluster_centroids());
  EXPECT_EQ(second->manifest().training().selection(), first->manifest().training().selection());
}

TEST_F(TrainerTest, MalformedTableFailsNamingTheFileAndWritesNoVersion) {
  const std::string bad_dir = testing::MakeTempDir("bad-data");
  for (absl::string_view file : {kProductsFile, kSociodemographicsFile}) {
    std::filesystem::copy_file(std::filesystem::path(data_dir()) / std::string(file),
                               std::filesystem::path(bad_dir) / std::string(file));
  }
  // The activity table's first row, for a real customer, with a segment
  // the schema does not know.
  std::string header;
  std::string first_row;
  {
    std::ifstream good(std::filesystem::path(data_dir()) / std::string(kActivityFile));
    std::getline(good, header);
    std::getline(good, first_row);
  }
  ASSERT_NE(first_row.rfind(','), std::string::npos);
  first_row = first_row.substr(0, first_row.rfind(',') + 1) + "99 - UNKNOWN";
  {
    std::ofstream activity(std::filesystem::path(bad_dir) / std::string(kActivityFile));
    activity << header << "\n" << first_row << "\n";
  }
  const std::string model_base = testing::MakeTempDir("models");
  const auto summary = TrainEasyMoneyModel(FastOptions(bad_dir, model_base));
  ASSERT_FALSE(summary.ok());
  EXPECT_EQ(summary.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(summary.status().message(), HasSubstr(absl::StrCat(kActivityFile, ":2:")));
  EXPECT_THAT(summary.status().message(), HasSubstr("99 - UNKNOWN"));
  EXPECT_TRUE(std::filesystem::is_empty(model_base));
}

TEST_F(TrainerTest, SecondRunWritesTheNextVersion) {
  TrainerOptions options = NoSelectionOptions(data_dir(), testing::MakeTempDir("models"));
  const auto first = TrainEasyMoneyModel(options);
  ASSERT_TRUE(first.ok()) << first.status();
  const auto second = TrainEasyMoneyModel(options);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(first->version, 1);
  EXPECT_EQ(second->version, 2);
  EXPECT_EQ(second->version_dir, (std::filesystem::path(options.model_base) / "2").string());
  const auto versions = ListModelVersions(options.model_base);
  ASSERT_TRUE(versions.ok()) << versions.status();
  EXPECT_THAT(*versions, ElementsAre(1, 2));
  EXPECT_NE(LoadVersion(*second), nullptr);
}


TEST_F(TrainerTest, ConversionsFromTheEventLogBecomeHoldingsOfTheNextVersion) {
  TrainerOptions options = NoSelectionOptions(data_dir(), testing::MakeTempDir("models"));
  const auto before = TrainEasyMoneyModel(options);
  ASSERT_TRUE(before.ok()) << before.status();
  const auto model = LoadVersion(*before);
  ASSERT_NE(model, nullptr);
  // A customer and a product they do not hold yet, in catalogue terms.
  int64_t row = -1;
  int32_t product = -1;
  for (int64_t r = 0; r < model->num_customers() && product < 0; ++r) {
    const auto held = model->customer_holdings(r);
    for (int32_t p = 0; p < model->num_products(); ++p) {
      if (std::find(held.begin(), held.end(), p) == held.end()) {
        row = r;
        product = p;
        break;
      }
    }
  }
  ASSERT_GE(product, 0);
  const std::string customer = std::to_string(model->customer_ids()[static_cast<size_t>(row)]);
  const std::string log_dir = testing::MakeTempDir("events");
  {
    EventLog::Options log_options;
    log_options.directory = log_dir;
    auto log = EventLog::Open(log_options);
    ASSERT_TRUE(log.ok()) << log.status();
    auto record = [&](const std::string& event, const std::string& who, const std::string& what) {
      easymoney::model::v1::EventRecord r;
      r.set_kind("feedback");
      r.set_request_id("r-" + event);
      r.set_model_version(1);
      r.set_variant("stable");
      r.set_customer_id(who);
      r.set_product_id(what);
      r.set_event(event);
      (*log)->Append(FormatEventRecord(r));
    };
    record("conversion", customer, model->product(product).id());
    record("click", customer, model->product(product).id());           // Interest only: not a holding.
    record("conversion", "999999999", model->product(product).id());   // Unknown customer.
    (*log)->Flush();
  }
  options.feedback_log_dir = log_dir;
  const auto after = TrainEasyMoneyModel(options);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->feedback.feedback_events, 3);
  EXPECT_EQ(after->feedback.conversions, 2);
  EXPECT_EQ(after->feedback.conversions_applied, 1);
  EXPECT_EQ(after->feedback.conversions_unknown, 1);
  const auto updated = LoadVersion(*after);
  ASSERT_NE(updated, nullptr);
  const auto held = updated->customer_holdings(row);
  EXPECT_NE(std::find(held.begin(), held.end(), product), held.end()) << "the conversion is a holding now";
  EXPECT_EQ(updated->manifest().training().feedback_conversions_applied(), 1);
  EXPECT_EQ(updated->manifest().training().feedback_log(), std::filesystem::absolute(log_dir).string());
}

}  // namespace
}  // namespace easymoney
