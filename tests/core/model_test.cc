#include "core/model.h"

#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "core/model_directory.h"
#include "core/npy.h"
#include "core/sha256.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/test_model.h"

namespace easymoney {
namespace {

using ::testing::HasSubstr;
using ::testing::Optional;
using testing::MakeTempDir;
using testing::MakeTestModel;
using testing::TestModel;

constexpr const char* kAllArrayFiles[] = {
    kCustomerIdsFile,       kCustomerFactorsFile,  kProductFactorsFile,
    kSingularValuesFile,    kClusterCentroidsFile, kCustomerClustersFile,
    kHoldingsIndptrFile,    kHoldingsIndicesFile,  kProductPopularityFile};

// Writes `model` as the first version under a fresh base; returns its directory.
std::string WriteVersion(const TestModel& model) {
  const std::string base = MakeTempDir("models");
  auto version = WriteModelVersion(base, model.manifest, model.arrays);
  EXPECT_TRUE(version.ok()) << version.status();
  if (version.ok()) {
    EXPECT_EQ(*version, 1);
  }
  return base + "/1";
}

std::string ReadBytes(const std::string& path) {
  auto bytes = ReadFileToString(path);
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  return bytes.ok() ? *bytes : std::string();
}

void WriteBytes(const std::string& path, const std::string& bytes) {
  ASSERT_TRUE(WriteStringToFile(path, bytes).ok());
}

// Loads the version at `dir` and returns the error it must be refused with.
absl::Status LoadError(const std::string& dir) {
  auto model = Model::Load(dir, 1);
  EXPECT_FALSE(model.ok()) << "version at " << dir << " was accepted";
  return model.status();
}

TEST(ModelTest, LoadReturnsTheArraysThatWereWritten) {
  const TestModel written = MakeTestModel();
  auto model = Model::Load(WriteVersion(written), 1);
  ASSERT_TRUE(model.ok()) << model.status();
  const ModelArrays& arrays = (*model)->arrays();
  EXPECT_EQ(arrays.customer_ids, written.arrays.customer_ids);
  EXPECT_EQ(arrays.customer_factors, written.arrays.customer_factors);
  EXPECT_EQ(arrays.product_factors, written.arrays.product_factors);
  EXPECT_EQ(arrays.singular_values, written.arrays.singular_values);
  EXPECT_EQ(arrays.cluster_centroids, written.arrays.cluster_centroids);
  EXPECT_EQ(arrays.customer_clusters, written.arrays.customer_clusters);
  EXPECT_EQ(arrays.holdings_indptr, written.arrays.holdings_indptr);
  EXPECT_EQ(arrays.holdings_indices, written.arrays.holdings_indices);
  EXPECT_EQ(arrays.product_popularity, written.arrays.product_popularity);
  EXPECT_EQ((*model)->version(), 1);
  EXPECT_EQ((*model)->num_products(), 4);
  EXPECT_EQ((*model)->num_factors(), 2);
  EXPECT_EQ((*model)->num_customers(), 3);
}

TEST(ModelTest, LoadReturnsTheManifestThatWasWritten) {
  const TestModel written = MakeTestModel();
  auto model = Model::Load(WriteVersion(written), 1);
  ASSERT_TRUE(model.ok()) << model.status();
  easymoney::model::v1::ModelManifest loaded = (*model)->manifest();
  loaded.clear_files();  // Filled in by WriteModelVersion; checked below.
  EXPECT_EQ(loaded.DebugString(), written.manifest.DebugString());
}

TEST(ModelTest, ManifestListsChecksumOfEveryFile) {
  const std::string dir = WriteVersion(MakeTestModel());
  auto model = Model::Load(dir, 1);
  ASSERT_TRUE(model.ok()) << model.status();
  const auto& files = (*model)->manifest().files();
  EXPECT_EQ(files.size(), std::size(kAllArrayFiles));
  for (const char* file : kAllArrayFiles) {
    ASSERT_TRUE(files.contains(file)) << file;
    EXPECT_EQ(files.at(file).sha256(), Sha256Hex(ReadBytes(dir + "/" + file))) << file;
  }
}

TEST(ModelTest, FindsCustomersByIdAndNotOthers) {
  auto model = Model::FromArrays(1, MakeTestModel().manifest, MakeTestModel().arrays);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_THAT((*model)->FindCustomer(10), Optional(0));
  EXPECT_THAT((*model)->FindCustomer(20), Optional(1));
  EXPECT_THAT((*model)->FindCustomer(30), Optional(2));
  EXPECT_EQ((*model)->FindCustomer(15), std::nullopt);
  EXPECT_EQ((*model)->FindCustomer(5), std::nullopt);
  EXPECT_EQ((*model)->FindCustomer(31), std::nullopt);
  EXPECT_THAT((*model)->customer_holdings(2), ::testing::ElementsAre(1, 2));
  EXPECT_EQ((*model)->customer_cluster(1), 1);
}

TEST(ModelTest, FindsProductsByIdAndNotOthers) {
  auto model = Model::FromArrays(1, MakeTestModel().manifest, MakeTestModel().arrays);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_THAT((*model)->FindProduct("a"), Optional(0));
  EXPECT_THAT((*model)->FindProduct("d"), Optional(3));
  EXPECT_EQ((*model)->FindProduct("e"), std::nullopt);
  EXPECT_EQ((*model)->FindProduct(""), std::nullopt);
  EXPECT_EQ((*model)->FindProduct("A"), std::nullopt);
}

TEST(ModelTest, RefusesChecksumMismatch) {
  const std::string dir = WriteVersion(MakeTestModel());
  const std::string path = dir + "/" + kCustomerFactorsFile;
  std::string bytes = ReadBytes(path);
  bytes.back() ^= 0x01;  // A flipped bit in the data, the header stays valid.
  WriteBytes(path, bytes);
  const absl::Status error = LoadError(dir);
  EXPECT_EQ(error.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(error.message(), HasSubstr(kCustomerFactorsFile));
  EXPECT_THAT(error.message(), HasSubstr("sha256"));
}

TEST(ModelTest, RefusesTruncatedFile) {
  const std::string dir = WriteVersion(MakeTestModel());
  const std::string path = dir + "/" + kProductFactorsFile;
  std::filesystem::resize_file(path, std::filesystem::file_size(path) - 4);
  const absl::Status error = LoadError(dir);
  EXPECT_EQ(error.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(error.message(), HasSubstr(kProductFactorsFile));
}

TEST(ModelTest, RefusesMissingArrayFile) {
  const std::string dir = WriteVersion(MakeTestModel());
  std::filesystem::remove(dir + "/" + kHoldingsIndicesFile);
  const absl::Status error = LoadError(dir);
  // DATA_LOSS, not NOT_FOUND: the manager would retry a NOT_FOUND forever.
  EXPECT_EQ(error.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(error.message(), HasSubstr(kHoldingsIndicesFile));
  EXPECT_THAT(error.message(), HasSubstr("listed in the manifest but missing"));
}

TEST(ModelTest, MissingManifestIsNotFound) {
  const std::string dir = WriteVersion(MakeTestModel());
  std::filesystem::remove(dir + "/" + kManifestFile);
  const absl::Status error = LoadError(dir);
  EXPECT_EQ(error.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(error.message(), HasSubstr(kManifestFile));
}

TEST(ModelTest, RefusesMalformedManifestJson) {
  const std::string dir = WriteVersion(MakeTestModel());
  WriteBytes(dir + "/" + kManifestFile, "{\"format_version\": 1, \"products\": [");
  const absl::Status error = LoadError(dir);
  EXPECT_EQ(error.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(error.message(), HasSubstr("manifest.json"));
}

TEST(ModelTest, RefusesUnknownFormatVersion) {
  TestModel model = MakeTestModel();
  model.manifest.set_format_version(kModelFormatVersion + 1);
  const absl::Status error = LoadError(WriteVersion(model));
  EXPECT_EQ(error.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(error.message(), HasSubstr("format_version 2 is not supported"));
}

TEST(ModelTest, RefusesNaNInCustomerFactors) {
  TestModel model = MakeTestModel();
  model.arrays.customer_factors(1, 0) = std::numeric_limits<float>::quiet_NaN();
  auto loaded = Model::FromArrays(1, model.manifest, model.arrays);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(loaded.status().message(), HasSubstr(kCustomerFactorsFile));
  EXPECT_THAT(loaded.status().message(), HasSubstr("NaN"));
}

TEST(ModelTest, RefusesInfinityInFilesOnDisk) {
  TestModel model = MakeTestModel();
  model.arrays.product_factors(2, 1) = std::numeric_limits<float>::infinity();
  const absl::Status error = LoadError(WriteVersion(model));
  EXPECT_EQ(error.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(error.message(), HasSubstr(kProductFactorsFile));
}

TEST(ModelTest, RefusesArrayShapeThatDisagreesWithManifest) {
  TestModel model = MakeTestModel();
  model.arrays.product_popularity.pop_back();
  const absl::Status error = LoadError(WriteVersion(model));
  EXPECT_EQ(error.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(error.message(), HasSubstr(kProductPopularityFile));
  EXPECT_THAT(error.message(), HasSubstr("shape (3,) does not match the manifest, expected (4,)"));
}

TEST(ModelTest, RefusesFactorCountThatDisagreesWithManifest) {
  TestModel model = MakeTestModel();
  model.manifest.set_num_factors(3);
  auto loaded = Model::FromArrays(1, model.manifest, model.arrays);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(loaded.status().message(), HasSubstr("shape (3, 2) does not match the manifest, expected (3, 3)"));
}

TEST(ModelTest, RefusesDuplicateProductIds) {
  TestModel model = MakeTestModel();
  model.manifest.mutable_products(3)->set_id("b");
  const absl::Status error = LoadError(WriteVersion(model));
  EXPECT_EQ(error.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(error.message(), HasSubstr("product id 'b' appears twice"));
}

TEST(ModelTest, RefusesUnsortedCustomerIds) {
  TestModel model = MakeTestModel();
  model.arrays.customer_ids = {10, 30, 20};
  const absl::Status error = LoadError(WriteVersion(model));
  EXPECT_EQ(error.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(error.message(), HasSubstr(kCustomerIdsFile));
  EXPECT_THAT(error.message(), HasSubstr("ascending"));
}

TEST(ModelTest, RefusesDuplicateCustomerIds) {
  TestModel model = MakeTestModel();
  model.arrays.customer_ids = {10, 20, 20};
  auto loaded = Model::FromArrays(1, model.manifest, model.arrays);
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(loaded.status().message(), HasSubstr("strictly ascending"));
}

TEST(ModelTest, RefusesClusterIdOutOfRange) {
  TestModel model = MakeTestModel();
  model.arrays.customer_clusters = {0, 2, 1};
  const absl::Status error = LoadError(WriteVersion(model));
  EXPECT_EQ(error.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(error.message(), HasSubstr(kCustomerClustersFile));
  EXPECT_THAT(error.message(), HasSubstr("cluster 2, outside [0, 2)"));
}

TEST(ModelTest, RefusesNegativeClusterId) {
  TestModel model = MakeTestModel();
  model.arrays.customer_clusters = {0, -1, 1};
  auto loaded = Model::FromArrays(1, model.manifest, model.arrays);
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(loaded.status().message(), HasSubstr(kCustomerClustersFile));
}

TEST(ModelTest, RefusesHoldingsIndexOutOfRange) {
  TestModel model = MakeTestModel();
  model.arrays.holdings_indices = {0, 1, 4};
  const absl::Status error = LoadError(WriteVersion(model));
  EXPECT_EQ(error.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(error.message(), HasSubstr(kHoldingsIndicesFile));
  EXPECT_THAT(error.message(), HasSubstr("(4) is out of range"));
}

TEST(ModelTest, RefusesHoldingsIndptrThatDisagreesWithIndices) {
  TestModel model = MakeTestModel();
  model.arrays.holdings_indptr = {0, 1, 1, 4};
  auto loaded = Model::FromArrays(1, model.manifest, model.arrays);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(loaded.status().message(), HasSubstr(kHoldingsIndptrFile));
}

TEST(ModelTest, RefusesNonPositiveVersion) {
  auto loaded = Model::FromArrays(0, MakeTestModel().manifest, MakeTestModel().arrays);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ModelTest, RefusesMinimumAgeRuleForAProductNotInTheCatalogue) {
  TestModel model = MakeTestModel();
  auto* rule = model.manifest.mutable_rules()->add_minimum_age();
  rule->set_product_id("zz");
  rule->set_age(18);
  auto loaded = Model::FromArrays(1, model.manifest, model.arrays);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(loaded.status().message(), HasSubstr("rules.minimum_age[0] names product 'zz'"));
}

TEST(ModelTest, RefusesMinimumAgeOutsideZeroTo130) {
  TestModel model = MakeTestModel();
  auto* adults = model.manifest.mutable_rules()->add_minimum_age();
  adults->set_product_id("a");
  adults->set_age(18);
  auto* rule = model.manifest.mutable_rules()->add_minimum_age();
  rule->set_product_id("c");
  rule->set_age(200);
  auto loaded = Model::FromArrays(1, model.manifest, model.arrays);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(loaded.status().message(), HasSubstr("rules.minimum_age[1] names product 'c' and age 200"));
}

TEST(ModelTest, MinimumAgeRulesAreIndexedByProduct) {
  TestModel model = MakeTestModel();
  auto* rule = model.manifest.mutable_rules()->add_minimum_age();
  rule->set_product_id("c");
  rule->set_age(18);
  auto loaded = Model::FromArrays(1, model.manifest, model.arrays);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ((*loaded)->minimum_age(0), -1);
  EXPECT_EQ((*loaded)->minimum_age(2), 18);
}

TEST(ModelTest, ClusterMeanFactorsAreTheMeansOfEachClustersCustomers) {
  auto model = Model::FromArrays(1, MakeTestModel().manifest, MakeTestModel().arrays);
  ASSERT_TRUE(model.ok()) << model.status();
  // Cluster 0: customer 10 (2, 1). Cluster 1: customers 20 (0, 3) and 30 (1, 1).
  EXPECT_THAT((*model)->cluster_mean_factors(0), ::testing::ElementsAre(2.0f, 1.0f));
  EXPECT_THAT((*model)->cluster_mean_factors(1), ::testing::ElementsAre(0.5f, 2.0f));
}

TEST(ModelTest, LoadReadsOptionalAgesAndFlagsWhenWritten) {
  TestModel written = MakeTestModel();
  written.arrays.customer_ages = {16, -1, 70};
  written.arrays.customer_flags = {0, 1, 0};
  const std::string dir = WriteVersion(written);
  auto model = Model::Load(dir, 1);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_TRUE((*model)->manifest().files().contains(kCustomerAgesFile));
  EXPECT_TRUE((*model)->manifest().files().contains(kCustomerFlagsFile));
  EXPECT_THAT((*model)->customer_age(0), Optional(16));
  EXPECT_EQ((*model)->customer_age(1), std::nullopt);
  EXPECT_THAT((*model)->customer_deceased(1), Optional(true));
  EXPECT_THAT((*model)->customer_deceased(0), Optional(false));
}

TEST(ModelTest, VersionWithoutOptionalFilesHasNoAgesOrFlags) {
  const std::string dir = WriteVersion(MakeTestModel());
  EXPECT_FALSE(std::filesystem::exists(dir + "/" + kCustomerAgesFile));
  EXPECT_FALSE(std::filesystem::exists(dir + "/" + kCustomerFlagsFile));
  auto model = Model::Load(dir, 1);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ((*model)->customer_age(0), std::nullopt);
  EXPECT_EQ((*model)->customer_deceased(0), std::nullopt);
}

TEST(ModelTest, RefusesStoredAgeOutsideMinusOneTo130) {
  TestModel model = MakeTestModel();
  model.arrays.customer_ages = {16, -2, 70};
  auto loaded = Model::FromArrays(1, model.manifest, model.arrays);
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(loaded.status().message(), HasSubstr(kCustomerAgesFile));
}

TEST(ModelTest, RefusesFlagsOfTheWrongLength) {
  TestModel model = MakeTestModel();
  model.arrays.customer_flags = {0, 1};
  auto loaded = Model::FromArrays(1, model.manifest, model.arrays);
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(loaded.status().message(), HasSubstr(kCustomerFlagsFile));
}

}  // namespace
}  // namespace easymoney
