#include "core/training/batch_recommendations.h"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "core/model/recommender.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/test_model.h"

namespace easymoney {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// One data row of the written file.
struct Row {
  int64_t customer_id = 0;
  int rank = 0;
  std::string product_id;
  float score = 0;
  std::string strategy;
};

struct BatchFile {
  std::string header;
  std::vector<Row> rows;

  // The product ids written for one customer, in file order.
  std::vector<std::string> ProductsOf(int64_t customer_id) const {
    std::vector<std::string> products;
    for (const Row& row : rows) {
      if (row.customer_id == customer_id) products.push_back(row.product_id);
    }
    return products;
  }
};

BatchFile ReadBatchFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  std::stringstream text;
  text << in.rdbuf();
  BatchFile file;
  const std::vector<std::string> lines = absl::StrSplit(text.str(), '\n', absl::SkipEmpty());
  if (lines.empty()) return file;
  file.header = lines[0];
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::vector<std::string> fields = absl::StrSplit(lines[i], ',');
    EXPECT_EQ(fields.size(), 5u) << "line " << i + 1 << ": " << lines[i];
    if (fields.size() != 5) continue;
    Row row;
    EXPECT_TRUE(absl::SimpleAtoi(fields[0], &row.customer_id)) << lines[i];
    EXPECT_TRUE(absl::SimpleAtoi(fields[1], &row.rank)) << lines[i];
    row.product_id = fields[2];
    EXPECT_TRUE(absl::SimpleAtof(fields[3], &row.score)) << lines[i];
    row.strategy = fields[4];
    file.rows.push_back(std::move(row));
  }
  return file;
}

std::shared_ptr<const Model> BuildModel(testing::TestModel test_model = testing::MakeTestModel()) {
  auto model = Model::FromArrays(1, std::move(test_model.manifest), std::move(test_model.arrays));
  EXPECT_TRUE(model.ok()) << model.status();
  return model.ok() ? *model : nullptr;
}

// Writes the batch file for `model` into a fresh directory and reads it back.
BatchFile WriteAndRead(const Model& model, int num_results, int64_t* rows_written = nullptr) {
  const std::string path = testing::MakeTempDir("batch") + "/recommendations.csv";
  const absl::StatusOr<int64_t> rows = WriteBatchRecommendations(model, num_results, path);
  EXPECT_TRUE(rows.ok()) << rows.status();
  if (rows_written != nullptr && rows.ok()) *rows_written = *rows;
  return ReadBatchFile(path);
}

TEST(WriteBatchRecommendationsTest, WritesTheHeaderAndReturnsTheDataRowsWritten) {
  const auto model = BuildModel();
  int64_t rows_written = -1;
  const BatchFile file = WriteAndRead(*model, 2, &rows_written);
  EXPECT_EQ(file.header, "customer_id,rank,product_id,score,strategy");
  EXPECT_EQ(rows_written, 6);
  EXPECT_EQ(file.rows.size(), 6u);
}

TEST(WriteBatchRecommendationsTest, WritesNRowsPerCustomerRankedBestFirst) {
  // Customer 10 (factors 2,1; holds a): c=3, b=1, d=1 (tie: b first).
  // Customer 20 (factors 0,3; holds nothing): b=3, c=3 (tie: b first).
  // Customer 30 (factors 1,1; holds b, c): a=1, d=0.5.
  const auto model = BuildModel();
  const BatchFile file = WriteAndRead(*model, 2);
  ASSERT_EQ(file.rows.size(), 6u);
  EXPECT_THAT(file.ProductsOf(10), ElementsAre("c", "b"));
  EXPECT_THAT(file.ProductsOf(20), ElementsAre("b", "c"));
  EXPECT_THAT(file.ProductsOf(30), ElementsAre("a", "d"));
  for (size_t i = 0; i < file.rows.size(); ++i) {
    EXPECT_EQ(file.rows[i].rank, static_cast<int>(i % 2) + 1) << "row " << i;
    if (i % 2 == 1) {
      EXPECT_LE(file.rows[i].score, file.rows[i - 1].score) << "row " << i;
    }
  }
  EXPECT_EQ(file.rows[0].customer_id, 10);
  EXPECT_EQ(file.rows[2].customer_id, 20);
  EXPECT_EQ(file.rows[4].customer_id, 30);
}

TEST(WriteBatchRecommendationsTest, HeldProductsAreNeverWritten) {
  // With the whole catalogue asked for, only the products not held remain.
  const auto model = BuildModel();
  const BatchFile file = WriteAndRead(*model, 4);
  EXPECT_THAT(file.ProductsOf(10), ElementsAre("c", "b", "d"));
  EXPECT_THAT(file.ProductsOf(20), ElementsAre("b", "c", "a", "d"));
  EXPECT_THAT(file.ProductsOf(30), ElementsAre("a", "d"));
}

TEST(WriteBatchRecommendationsTest, NeverRecommendProductsAreNeverWritten) {
  testing::TestModel test_model = testing::MakeTestModel();
  test_model.manifest.mutable_products(2)->set_never_recommend(true);  // c
  const auto model = BuildModel(std::move(test_model));
  const BatchFile file = WriteAndRead(*model, 4);
  EXPECT_THAT(file.ProductsOf(10), ElementsAre("b", "d"));
  EXPECT_THAT(file.ProductsOf(20), ElementsAre("b", "a", "d"));
  EXPECT_THAT(file.ProductsOf(30), ElementsAre("a", "d"));
}

TEST(WriteBatchRecommendationsTest, ProductsAndScoresEqualWhatRecommendAnswers) {
  // A popularity prior makes the scores fractional, and must be applied
  // by both paths alike.
  testing::TestModel test_model = testing::MakeTestModel();
  test_model.manifest.mutable_training()->set_popularity_weight(0.5);
  const auto model = BuildModel(std::move(test_model));
  const BatchFile file = WriteAndRead(*model, 3);
  for (const int64_t customer_id : {10, 20, 30}) {
    SCOPED_TRACE(absl::StrCat("customer ", customer_id));
    const std::string id = absl::StrCat(customer_id);
    RecommendationQuery query;
    query.customer_id = id;
    query.num_results = 3;
    const absl::StatusOr<Recommendation> answer = Recommend(*model, query);
    ASSERT_TRUE(answer.ok()) << answer.status();
    std::vector<Row> written;
    for (const Row& row : file.rows) {
      if (row.customer_id == customer_id) written.push_back(row);
    }
    ASSERT_EQ(written.size(), answer->products.size());
    for (size_t i = 0; i < written.size(); ++i) {
      EXPECT_EQ(written[i].product_id, model->product(answer->products[i].index).id());
      EXPECT_NEAR(written[i].score, answer->products[i].score, 1e-5f);
      EXPECT_EQ(written[i].strategy, "personalised");
    }
  }
}

TEST(WriteBatchRecommendationsTest, CustomerWithoutFactorsIsRankedByPopularity) {
  testing::TestModel test_model = testing::MakeTestModel();
  test_model.arrays.customer_factors.row(1).setZero();  // Customer 20.
  const auto model = BuildModel(std::move(test_model));
  const BatchFile file = WriteAndRead(*model, 2);
  // Popularity a=0.5 b=0.1 c=0.3 d=0.3.
  EXPECT_THAT(file.ProductsOf(20), ElementsAre("a", "c"));
  for (const Row& row : file.rows) {
    EXPECT_EQ(row.strategy, row.customer_id == 20 ? "popular" : "personalised") << row.customer_id;
  }
}

TEST(WriteBatchRecommendationsTest, NumResultsOutsideTheCatalogueIsInvalidAndWritesNothing) {
  const auto model = BuildModel();
  for (const int num_results : {0, -1, 5}) {
    SCOPED_TRACE(absl::StrCat("num_results ", num_results));
    const std::string dir = testing::MakeTempDir("invalid");
    const absl::StatusOr<int64_t> rows = WriteBatchRecommendations(*model, num_results, dir + "/out.csv");
    ASSERT_FALSE(rows.ok());
    EXPECT_EQ(rows.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(rows.status().message(), HasSubstr(absl::StrCat("num_results ", num_results)));
    EXPECT_TRUE(std::filesystem::is_empty(dir));
  }
}

TEST(WriteBatchRecommendationsTest, PathInAMissingDirectoryIsAnError) {
  const auto model = BuildModel();
  const std::string dir = testing::MakeTempDir("missing");
  const absl::StatusOr<int64_t> rows = WriteBatchRecommendations(*model, 2, dir + "/no/such/dir/out.csv");
  ASSERT_FALSE(rows.ok());
  EXPECT_THAT(rows.status().message(), HasSubstr("out.csv"));
  EXPECT_TRUE(std::filesystem::is_empty(dir));
}

TEST(WriteBatchRecommendationsTest, FailedFinalRenameLeavesNoPartialFile) {
  // The target is a directory: the rows can be written to the temporary
  // file, but it cannot be renamed over the target.
  const auto model = BuildModel();
  const std::string dir = testing::MakeTempDir("rename");
  const std::string path = dir + "/out.csv";
  std::filesystem::create_directory(path);
  const absl::StatusOr<int64_t> rows = WriteBatchRecommendations(*model, 2, path);
  ASSERT_FALSE(rows.ok());
  EXPECT_THAT(rows.status().message(), HasSubstr(path));
  std::vector<std::string> left;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) left.push_back(entry.path().filename());
  EXPECT_THAT(left, ElementsAre("out.csv"));
  EXPECT_TRUE(std::filesystem::is_directory(path));
  EXPECT_TRUE(std::filesystem::is_empty(path));
}

}  // namespace
}  // namespace easymoney
