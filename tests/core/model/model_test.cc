#include "core/model/model.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "core/model/manifest_json.h"
#include "core/model/model_directory.h"
#include "core/model/npy.h"
#include "core/util/sha256.h"
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

// The tests that load from disk run twice: with the per-customer arrays
// mapped from their files (the default) and copied into memory.
class ModelLoadTest : public ::testing::TestWithParam<bool> {
 protected:
  static ModelLoadOptions options() { return {.map_customer_arrays = GetParam()}; }

  // Loads the version at `dir` and returns the error it must be refused with.
  static absl::Status LoadError(const std::string& dir) {
    auto model = Model::Load(dir, 1, options());
    EXPECT_FALSE(model.ok()) << "version at " << dir << " was accepted";
    return model.status();
  }
};

INSTANTIATE_TEST_SUITE_P(MappedAndCopied, ModelLoadTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Mapped" : "Copied";
                         });

TEST_P(ModelLoadTest, LoadReturnsTheArraysThatWereWritten) {
  const TestModel written = MakeTestModel();
  const std::string dir = WriteVersion(written);
  auto model = Model::Load(dir, 1, options());
  ASSERT_TRUE(model.ok()) << model.status();
  const Model& loaded = **model;
  EXPECT_THAT(loaded.customer_ids(), ::testing::ElementsAreArray(written.arrays.customer_ids));
  EXPECT_EQ(RowMajorMatrix(loaded.customer_factor_matrix()), written.arrays.customer_factors);
  EXPECT_EQ(loaded.product_factors(), written.arrays.product_factors);
  EXPECT_EQ(loaded.singular_values(), written.arrays.singular_values);
  EXPECT_EQ(loaded.cluster_centroids(), written.arrays.cluster_centroids);
  EXPECT_THAT(loaded.customer_clusters(), ::testing::ElementsAreArray(written.arrays.customer_clusters));
  for (int64_t row = 0; row < loaded.num_customers(); ++row) {
    const auto begin = written.arrays.holdings_indices.begin() + written.arrays.holdings_indptr[row];
    const auto end = written.arrays.holdings_indices.begin() + written.arrays.holdings_indptr[row + 1];
    EXPECT_THAT(loaded.customer_holdings(row), ::testing::ElementsAreArray(begin, end)) << row;
  }
  EXPECT_THAT(loaded.product_popularity(), ::testing::ElementsAreArray(written.arrays.product_popularity));
  // Mapped: every per-customer file, whole, is in the mapping.
  size_t per_customer_bytes = 0;
  for (const char* file : {kCustomerIdsFile, kCustomerFactorsFile, kCustomerClustersFile, kHoldingsIndptrFile,
                           kHoldingsIndicesFile}) {
    per_customer_bytes += std::filesystem::file_size(dir + "/" + file);
  }
  EXPECT_EQ(loaded.mapped_bytes(), GetParam() ? per_customer_bytes : 0);
  EXPECT_EQ((*model)->version(), 1);
  EXPECT_EQ((*model)->num_products(), 4);
  EXPECT_EQ((*model)->num_factors(), 2);
  EXPECT_EQ((*model)->num_customers(), 3);
}

TEST_P(ModelLoadTest, LoadReturnsTheManifestThatWasWritten) {
  const TestModel written = MakeTestModel();
  auto model = Model::Load(WriteVersion(written), 1, options());
  ASSERT_TRUE(model.ok()) << model.status();
  easymoney::model::v1::ModelManifest loaded = (*model)->manifest();
  loaded.clear_files();  // Filled in by WriteModelVersion; checked below.
  EXPECT_EQ(loaded.DebugString(), written.manifest.DebugString());
}

TEST_P(ModelLoadTest, ManifestListsChecksumOfEveryFile) {
  const std::string dir = WriteVersion(MakeTestModel());
  auto model = Model::Load(dir, 1, options());
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

TEST_P(ModelLoadTest, RefusesChecksumMismatch) {
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

TEST_P(ModelLoadTest, RefusesTruncatedFile) {
  const std::string dir = WriteVersion(MakeTestModel());
  const std::string path = dir + "/" + kProductFactorsFile;
  std::filesystem::resize_file(path, std::filesystem::file_size(path) - 4);
  const absl::Status error = LoadError(dir);
  EXPECT_EQ(error.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(error.message(), HasSubstr(kProductFactorsFile));
}

TEST_P(ModelLoadTest, RefusesMissingArrayFile) {
  const std::string dir = WriteVersion(MakeTestModel());
  std::filesystem::remove(dir + "/" + kHoldingsIndicesFile);
  const absl::Status error = LoadError(dir);
  // DATA_LOSS, not NOT_FOUND: the manager would retry a NOT_FOUND forever.
  EXPECT_EQ(error.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(error.message(), HasSubstr(kHoldingsIndicesFile));
  EXPECT_THAT(error.message(), HasSubstr("listed in the manifest but missing"));
}

TEST_P(ModelLoadTest, MissingManifestIsNotFound) {
  const std::string dir = WriteVersion(MakeTestModel());
  std::filesystem::remove(dir + "/" + kManifestFile);
  const absl::Status error = LoadError(dir);
  EXPECT_EQ(error.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(error.message(), HasSubstr(kManifestFile));
}

TEST_P(ModelLoadTest, RefusesMalformedManifestJson) {
  const std::string dir = WriteVersion(MakeTestModel());
  WriteBytes(dir + "/" + kManifestFile, "{\"format_version\": 1, \"products\": [");
  const absl::Status error = LoadError(dir);
  EXPECT_EQ(error.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(error.message(), HasSubstr("manifest.json"));
}

TEST_P(ModelLoadTest, RefusesUnknownFormatVersion) {
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

// Finite factors whose dot products overflow float would answer with inf
// scores: refused at load, with the bound in the reason.
TEST(ModelTest, RefusesFactorsWhoseScoresCouldOverflow) {
  for (const bool customer_side : {true, false}) {
    TestModel model = MakeTestModel();
    if (customer_side) {
      model.arrays.customer_factors(0, 0) = 3.4e38f;
    } else {
      model.arrays.product_factors(1, 1) = -3.4e38f;
    }
    auto loaded = Model::FromArrays(1, model.manifest, model.arrays);
    ASSERT_FALSE(loaded.ok()) << (customer_side ? "customer" : "product") << " factors";
    EXPECT_TRUE(absl::IsInvalidArgument(loaded.status()));
    EXPECT_THAT(loaded.status().message(), HasSubstr("scores could overflow"));
  }
  // Folding in every product sums their factors: a catalogue of large but
  // individually harmless product factors is refused too.
  TestModel model = MakeTestModel();
  model.arrays.product_factors.setConstant(1e15f);
  EXPECT_THAT(Model::FromArrays(1, model.manifest, model.arrays).status().message(),
              HasSubstr("scores could overflow"));
}

// Serving multiplies popularity by the weight as a float: a weight beyond
// float's range is Inf there, whatever the popularity.
TEST(ModelTest, RefusesAPopularityWeightBeyondFloat) {
  TestModel model = MakeTestModel();
  model.manifest.mutable_training()->set_popularity_weight(1e39);
  EXPECT_THAT(Model::FromArrays(1, model.manifest, model.arrays).status().message(),
              HasSubstr("popularity_weight 1e+39 does not fit a float"));
}

TEST(ModelTest, AcceptsLargeFactorsWhoseScoresStayFinite) {
  TestModel model = MakeTestModel();
  model.arrays.customer_factors(2, 1) = 1e10f;
  model.arrays.product_factors(0, 0) = 1e9f;
  EXPECT_TRUE(Model::FromArrays(1, model.manifest, model.arrays).ok());
}

TEST_P(ModelLoadTest, RefusesInfinityInFilesOnDisk) {
  TestModel model = MakeTestModel();
  model.arrays.product_factors(2, 1) = std::numeric_limits<float>::infinity();
  const absl::Status error = LoadError(WriteVersion(model));
  EXPECT_EQ(error.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(error.message(), HasSubstr(kProductFactorsFile));
}

// The .npy header of a float32 array of `shape`, as numpy writes it.
std::string NpyHeaderOf(const std::string& shape) {
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
  const size_t total = (10 + dict.size() + 1 + 63) / 64 * 64;
  dict.append(total - 10 - dict.size() - 1, ' ');
  dict.push_back('\n');
  std::string header("\x93NUMPY\x01\x00", 8);
  header.push_back(static_cast<char>(dict.size() & 0xff));
  header.push_back(static_cast<char>(dict.size() >> 8));
  return header + dict;
}

// A 1.6 GB sparse customer_factors.npy whose header agrees with the file's
// size but not with the manifest (3 customers): refused from its header,
// without reading or hashing the data. It once drove the server to 1.5 GB
// while being refused.
TEST_P(ModelLoadTest, AHugeLyingArrayIsRefusedFromItsHeaderInBoundedMemory) {
  const std::string dir = WriteVersion(MakeTestModel());
  const std::string path = dir + "/" + kCustomerFactorsFile;
  const std::string header = NpyHeaderOf("(200000000, 2)");
  WriteBytes(path, header);
  ASSERT_EQ(truncate(path.c_str(), static_cast<off_t>(header.size() + uint64_t{200000000} * 2 * 4)), 0);
  rusage before;
  getrusage(RUSAGE_SELF, &before);
  const absl::Status refused = LoadError(dir);
  rusage after;
  getrusage(RUSAGE_SELF, &after);
  EXPECT_TRUE(absl::IsInvalidArgument(refused)) << refused;
  EXPECT_THAT(refused.message(), HasSubstr("(200000000, 2) does not match the manifest, expected (3, 2)"));
  // ru_maxrss is in KiB: the peak grew by less than 64 MiB.
  EXPECT_LT(after.ru_maxrss - before.ru_maxrss, 64 * 1024);
}

// A header that does not parse (here it claims more data than the file
// holds) is refused with a checksum verdict computed in chunks, not by
// reading the whole file into memory.
TEST_P(ModelLoadTest, AHugeFileWithABrokenHeaderIsRefusedInBoundedMemory) {
  const std::string dir = WriteVersion(MakeTestModel());
  const std::string path = dir + "/" + kCustomerFactorsFile;
  const std::string header = NpyHeaderOf("(3, 2)");
  WriteBytes(path, header);
  ASSERT_EQ(truncate(path.c_str(), static_cast<off_t>(uint64_t{1} << 30)), 0);
  rusage before;
  getrusage(RUSAGE_SELF, &before);
  const absl::Status refused = LoadError(dir);
  rusage after;
  getrusage(RUSAGE_SELF, &after);
  EXPECT_FALSE(refused.ok());
  EXPECT_LT(after.ru_maxrss - before.ru_maxrss, 64 * 1024);
}

TEST_P(ModelLoadTest, RefusesArrayShapeThatDisagreesWithManifest) {
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

TEST_P(ModelLoadTest, RefusesDuplicateProductIds) {
  TestModel model = MakeTestModel();
  model.manifest.mutable_products(3)->set_id("b");
  const absl::Status error = LoadError(WriteVersion(model));
  EXPECT_EQ(error.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(error.message(), HasSubstr("product id 'b' appears twice"));
}

TEST_P(ModelLoadTest, RefusesUnsortedCustomerIds) {
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

TEST_P(ModelLoadTest, RefusesClusterIdOutOfRange) {
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

TEST_P(ModelLoadTest, RefusesHoldingsIndexOutOfRange) {
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

TEST_P(ModelLoadTest, LoadReadsOptionalAgesAndFlagsWhenWritten) {
  TestModel written = MakeTestModel();
  written.arrays.customer_ages = {16, -1, 70};
  written.arrays.customer_flags = {0, 1, 0};
  const std::string dir = WriteVersion(written);
  auto model = Model::Load(dir, 1, options());
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_TRUE((*model)->manifest().files().contains(kCustomerAgesFile));
  EXPECT_TRUE((*model)->manifest().files().contains(kCustomerFlagsFile));
  EXPECT_THAT((*model)->customer_age(0), Optional(16));
  EXPECT_EQ((*model)->customer_age(1), std::nullopt);
  EXPECT_THAT((*model)->customer_deceased(1), Optional(true));
  EXPECT_THAT((*model)->customer_deceased(0), Optional(false));
}

TEST_P(ModelLoadTest, VersionWithoutOptionalFilesHasNoAgesOrFlags) {
  const std::string dir = WriteVersion(MakeTestModel());
  EXPECT_FALSE(std::filesystem::exists(dir + "/" + kCustomerAgesFile));
  EXPECT_FALSE(std::filesystem::exists(dir + "/" + kCustomerFlagsFile));
  auto model = Model::Load(dir, 1, options());
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

TEST_P(ModelLoadTest, RefusesNaNInCustomerFactorsOnDisk) {
  TestModel model = MakeTestModel();
  model.arrays.customer_factors(2, 1) = std::numeric_limits<float>::quiet_NaN();
  const absl::Status error = LoadError(WriteVersion(model));
  EXPECT_EQ(error.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(error.message(), HasSubstr(kCustomerFactorsFile));
  EXPECT_THAT(error.message(), HasSubstr("NaN"));
}

// Validation of mapped arrays runs while they are hashed; a corrupt copy
// must still be named as one, not by the symptom validation sees first.
TEST_P(ModelLoadTest, ChecksumMismatchWinsOverWhatTheCorruptBytesLookLike) {
  const std::string dir = WriteVersion(MakeTestModel());
  const std::string path = dir + "/" + kCustomerFactorsFile;
  std::string bytes = ReadBytes(path);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::memcpy(bytes.data() + bytes.size() - sizeof(float), &nan, sizeof(float));
  WriteBytes(path, bytes);
  const absl::Status error = LoadError(dir);
  EXPECT_EQ(error.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(error.message(), HasSubstr("sha256"));
  EXPECT_THAT(error.message(), HasSubstr(kCustomerFactorsFile));
}

// numpy aligns array data to 64 bytes; a hand-made file whose int64 data
// starts at an odd offset cannot be used in place and is read instead.
TEST_P(ModelLoadTest, LoadsAHandMadeFileWithUnalignedData) {
  const TestModel written = MakeTestModel();
  const std::string dir = WriteVersion(written);
  // Magic, version 1.0, a 2-byte length, then a dict padded so the data
  // starts at byte 84 (4 mod 8).
  std::string dict = "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }";
  dict.resize(84 - 10 - 1, ' ');
  dict += '\n';
  std::string bytes = std::string("\x93NUMPY\x01\x00", 8);
  bytes += static_cast<char>(dict.size() & 0xff);
  bytes += static_cast<char>(dict.size() >> 8);
  bytes += dict;
  bytes.append(reinterpret_cast<const char*>(written.arrays.customer_ids.data()),
               written.arrays.customer_ids.size() * sizeof(int64_t));
  WriteBytes(dir + "/" + kCustomerIdsFile, bytes);
  auto manifest = ParseManifestJson(ReadBytes(dir + "/" + kManifestFile));
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  (*manifest->mutable_files())[kCustomerIdsFile].set_sha256(Sha256Hex(bytes));
  WriteBytes(dir + "/" + kManifestFile, ManifestToJson(*manifest));

  auto model = Model::Load(dir, 1, options());
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_THAT((*model)->customer_ids(), ::testing::ElementsAreArray(written.arrays.customer_ids));
  EXPECT_THAT((*model)->FindCustomer(20), Optional(1));
  EXPECT_EQ((*model)->mapped_bytes(), 0);
}

// Retention deletes old version directories while they may still serve
// (the previous version is kept for rollback): a mapped model keeps its
// files' contents until it is released.
TEST_P(ModelLoadTest, KeepsServingAfterItsFilesAreDeleted) {
  const TestModel written = MakeTestModel();
  const std::string dir = WriteVersion(written);
  auto model = Model::Load(dir, 1, options());
  ASSERT_TRUE(model.ok()) << model.status();
  std::filesystem::remove_all(dir);
  ASSERT_FALSE(std::filesystem::exists(dir));
  EXPECT_EQ(RowMajorMatrix((*model)->customer_factor_matrix()), written.arrays.customer_factors);
  EXPECT_THAT((*model)->FindCustomer(30), Optional(2));
  EXPECT_THAT((*model)->customer_holdings(2), ::testing::ElementsAre(1, 2));
}

}  // namespace
}  // namespace easymoney
