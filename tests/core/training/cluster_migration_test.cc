#include "core/training/cluster_migration.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/model/model_directory.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/clustered_model.h"
#include "tests/testing/test_model.h"

namespace easymoney {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

using testing::ClusteredArrays;
using testing::BuildModel;
using testing::ClusteredModel;
using testing::Ids;

TEST(CompareClustersTest, IdenticalClusteringWithPermutedLabelsReassignsNobody) {
  // Clusters of sizes 4, 3 and 2; version 2 renumbers them 0->2, 1->0, 2->1.
  const std::vector<int32_t> before_clusters = {0, 0, 0, 0, 1, 1, 1, 2, 2};
  const std::vector<int32_t> relabel = {2, 0, 1};
  std::vector<int32_t> after_clusters;
  for (int32_t c : before_clusters) after_clusters.push_back(relabel[static_cast<size_t>(c)]);
  auto before = ClusteredModel(1, Ids(1, 9), before_clusters, 3);
  auto after = ClusteredModel(2, Ids(1, 9), after_clusters, 3);

  auto migration = CompareClusters(*before, *after);
  ASSERT_TRUE(migration.ok()) << migration.status();
  EXPECT_EQ(migration->common_customers, 9);
  EXPECT_EQ(migration->only_before, 0);
  EXPECT_EQ(migration->only_after, 0);
  EXPECT_THAT(migration->matched_after, ElementsAre(2, 0, 1));
  EXPECT_THAT(migration->matched_before, ElementsAre(1, 2, 0));
  EXPECT_EQ(migration->matched_customers, 9);
  EXPECT_EQ(migration->reassigned_share, 0.0);
  EXPECT_EQ(migration->count(0, 2), 4);
  EXPECT_EQ(migration->count(1, 0), 3);
  EXPECT_EQ(migration->count(2, 1), 2);
  EXPECT_EQ(ReassignedShare(*before, *after), 0.0);
}

TEST(CompareClustersTest, MovedCustomersGiveTheExactReassignedShare) {
  // Ten customers in two clusters of five; version 2 swaps the labels and
  // moves customers 2 and 3 from the first cluster to the second.
  auto before = ClusteredModel(1, Ids(1, 10), {0, 0, 0, 0, 0, 1, 1, 1, 1, 1}, 2);
  auto after = ClusteredModel(2, Ids(1, 10), {1, 0, 0, 1, 1, 0, 0, 0, 0, 0}, 2);

  auto migration = CompareClusters(*before, *after);
  ASSERT_TRUE(migration.ok()) << migration.status();
  EXPECT_THAT(migration->crosstab, ElementsAre(2, 3, 5, 0));
  // Matching A0-B0 and A1-B1 would keep 2 + 0 customers, A0-B1 and A1-B0 keep 3 + 5.
  EXPECT_THAT(migration->matched_after, ElementsAre(1, 0));
  EXPECT_EQ(migration->matched_customers, 8);
  EXPECT_DOUBLE_EQ(migration->reassigned_share, 0.2);
  EXPECT_DOUBLE_EQ(ReassignedShare(*before, *after), 0.2);
}

TEST(CompareClustersTest, CustomersInOnlyOneVersionAreCountedApartFromTheShare) {
  // Customers 1-3 left, 7-9 are new; of 4-6, customer 6 changed cluster.
  auto before = ClusteredModel(1, Ids(1, 6), {0, 1, 0, 0, 1, 1}, 2);
  auto after = ClusteredModel(2, Ids(4, 9), {0, 1, 0, 1, 1, 1}, 2);

  auto migration = CompareClusters(*before, *after);
  ASSERT_TRUE(migration.ok()) << migration.status();
  EXPECT_EQ(migration->customers_before, 6);
  EXPECT_EQ(migration->customers_after, 6);
  EXPECT_EQ(migration->common_customers, 3);
  EXPECT_EQ(migration->only_before, 3);
  EXPECT_EQ(migration->only_after, 3);
  EXPECT_THAT(migration->crosstab, ElementsAre(1, 0, 1, 1));
  EXPECT_THAT(migration->matched_after, ElementsAre(0, 1));
  // One of the three customers in both moved; the six others do not count.
  EXPECT_DOUBLE_EQ(migration->reassigned_share, 1.0 / 3.0);
  // Sizes count every customer of the version, not only the common ones.
  EXPECT_EQ(migration->profiles_before[0].size, 3);
  EXPECT_EQ(migration->profiles_after[1].size, 4);
}

TEST(CompareClustersTest, InterleavedIdsAreJoinedExactly) {
  // Random, partly overlapping id sets checked against a hash-free reference.
  std::mt19937_64 random(7);
  std::vector<int64_t> ids_before;
  std::vector<int64_t> ids_after;
  std::vector<int32_t> clusters_before;
  std::vector<int32_t> clusters_after;
  for (int64_t id = 1; id <= 5000; ++id) {
    const uint64_t draw = random() % 4;
    if (draw != 0) {
      ids_before.push_back(id);
      clusters_before.push_back(static_cast<int32_t>(random() % 3));
    }
    if (draw != 1) {
      ids_after.push_back(id);
      clusters_after.push_back(static_cast<int32_t>(random() % 4));
    }
  }
  std::vector<int64_t> expected(12, 0);
  for (size_t i = 0; i < ids_before.size(); ++i) {
    auto it = std::lower_bound(ids_after.begin(), ids_after.end(), ids_before[i]);
    if (it == ids_after.end() || *it != ids_before[i]) continue;
    const int32_t after_cluster = clusters_after[static_cast<size_t>(it - ids_after.begin())];
    ++expected[static_cast<size_t>(clusters_before[i] * 4 + after_cluster)];
  }
  const size_t size_before = ids_before.size();
  const size_t size_after = ids_after.size();
  auto before = ClusteredModel(1, ids_before, clusters_before, 3);
  auto after = ClusteredModel(2, ids_after, clusters_after, 4);

  auto migration = CompareClusters(*before, *after);
  ASSERT_TRUE(migration.ok()) << migration.status();
  EXPECT_EQ(migration->crosstab, expected);
  const int64_t common = std::accumulate(expected.begin(), expected.end(), int64_t{0});
  EXPECT_EQ(migration->common_customers, common);
  EXPECT_EQ(migration->only_before, static_cast<int64_t>(size_before) - common);
  EXPECT_EQ(migration->only_after, static_cast<int64_t>(size_after) - common);
}

TEST(CompareClustersTest, DisjointCustomersAreAnError) {
  auto before = ClusteredModel(1, Ids(1, 5), {0, 0, 1, 1, 1}, 2);
  auto after = ClusteredModel(2, Ids(6, 10), {0, 0, 1, 1, 1}, 2);

  auto migration = CompareClusters(*before, *after);
  EXPECT_EQ(migration.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(migration.status().message(), HasSubstr("no customer in common"));
  EXPECT_TRUE(std::isnan(ReassignedShare(*before, *after)));
}

TEST(CompareClustersTest, MoreClustersOnOneSideLeaveClustersUnmatched) {
  // Version 2 merges clusters 1 and 2 of version 1.
  auto before = ClusteredModel(1, Ids(1, 9), {0, 0, 0, 0, 1, 1, 1, 2, 2}, 3);
  auto after = ClusteredModel(2, Ids(1, 9), {1, 1, 1, 1, 0, 0, 0, 0, 0}, 2);

  auto migration = CompareClusters(*before, *after);
  ASSERT_TRUE(migration.ok()) << migration.status();
  EXPECT_THAT(migration->matched_after, ElementsAre(1, 0, -1));
  EXPECT_THAT(migration->matched_before, ElementsAre(1, 0));
  EXPECT_EQ(migration->matched_customers, 7);
  EXPECT_DOUBLE_EQ(migration->reassigned_share, 2.0 / 9.0);
}

TEST(CompareClustersTest, ProfilesAreCentroidsInRawUnits) {
  testing::TestModel arrays = ClusteredArrays(Ids(1, 4), {0, 1, 1, 1}, 2);
  auto* gender = arrays.manifest.add_features();
  gender->set_name("gender=H");
  gender->set_kind("one_hot");
  gender->set_source("gender");
  gender->set_category("H");
  gender->set_mean(0.5);
  gender->set_stddev(0.5);
  arrays.manifest.set_num_features(2);
  arrays.arrays.cluster_centroids.resize(2, 2);
  arrays.arrays.cluster_centroids << -1, 1, 0.5, -0.2f;
  auto before = BuildModel(1, arrays);
  auto after = BuildModel(2, arrays);

  auto migration = CompareClusters(*before, *after);
  ASSERT_TRUE(migration.ok()) << migration.status();
  EXPECT_TRUE(migration->features_match);
  ASSERT_EQ(migration->features.size(), 2u);
  EXPECT_EQ(migration->features[0].name, "age");
  EXPECT_FALSE(migration->features[0].one_hot);
  EXPECT_TRUE(migration->features[1].one_hot);
  EXPECT_EQ(migration->profiles_before[0].size, 1);
  EXPECT_EQ(migration->profiles_before[1].size, 3);
  EXPECT_DOUBLE_EQ(migration->profiles_before[0].values[0], 30.0);  // 40 + 10 * -1.
  EXPECT_DOUBLE_EQ(migration->profiles_before[0].values[1], 1.0);   // 0.5 + 0.5 * 1: all H.
  EXPECT_DOUBLE_EQ(migration->profiles_after[1].values[0], 45.0);
  EXPECT_NEAR(migration->profiles_after[1].values[1], 0.4, 1e-6);
}

TEST(CompareClustersTest, RefittedStatisticsAndFeatureOrderStillMatch) {
  testing::TestModel before_arrays = ClusteredArrays(Ids(1, 4), {0, 1, 1, 1}, 2);
  auto* gender = before_arrays.manifest.add_features();
  gender->set_name("gender=H");
  gender->set_kind("one_hot");
  gender->set_source("gender");
  gender->set_category("H");
  gender->set_mean(0.5);
  gender->set_stddev(0.5);
  before_arrays.manifest.set_num_features(2);
  before_arrays.arrays.cluster_centroids.resize(2, 2);
  before_arrays.arrays.cluster_centroids << 0, 0, 1, 1;
  // Version 2 lists gender first, and its training data had older customers.
  testing::TestModel after_arrays = before_arrays;
  after_arrays.manifest.mutable_features()->SwapElements(0, 1);
  after_arrays.manifest.mutable_features(1)->set_mean(50);

  auto migration = CompareClusters(*BuildModel(1, before_arrays), *BuildModel(2, after_arrays));
  ASSERT_TRUE(migration.ok()) << migration.status();
  EXPECT_TRUE(migration->features_match) << migration->feature_difference;
  ASSERT_EQ(migration->features.size(), 2u);
  EXPECT_EQ(migration->features[0].name, "age");
  EXPECT_EQ(migration->features[0].index_after, 1);
  // Version 2's column 1 (age) holds centroid value 0 for cluster 0: its mean.
  EXPECT_DOUBLE_EQ(migration->profiles_after[0].values[0], 50.0);
  EXPECT_DOUBLE_EQ(migration->profiles_before[0].values[0], 40.0);
}

TEST(CompareClustersTest, DifferentFeatureSpecsAreFlaggedButStillCompared) {
  testing::TestModel before_arrays = ClusteredArrays(Ids(1, 4), {0, 1, 1, 1}, 2);
  testing::TestModel after_arrays = ClusteredArrays(Ids(1, 4), {1, 0, 0, 0}, 2);
  after_arrays.manifest.mutable_features(0)->set_name("tenure_months");
  after_arrays.manifest.mutable_features(0)->set_source("tenure_months");

  auto migration = CompareClusters(*BuildModel(1, before_arrays), *BuildModel(2, after_arrays));
  ASSERT_TRUE(migration.ok()) << migration.status();
  EXPECT_FALSE(migration->features_match);
  EXPECT_THAT(migration->feature_difference, HasSubstr("'age' is only in version 1"));
  EXPECT_DOUBLE_EQ(migration->reassigned_share, 0.0);
  ASSERT_EQ(migration->features.size(), 2u);
  EXPECT_EQ(migration->features[1].name, "tenure_months");
  EXPECT_TRUE(std::isnan(migration->profiles_before[0].values[1]));
  EXPECT_TRUE(std::isnan(migration->profiles_after[0].values[0]));
  EXPECT_DOUBLE_EQ(migration->profiles_after[0].values[1], 40.0);
  EXPECT_THAT(FormatClusterMigration(*migration), HasSubstr("WARNING"));
}

TEST(CompareClustersTest, DifferentlyPooledCategoriesAreFlagged) {
  testing::TestModel before_arrays = ClusteredArrays(Ids(1, 4), {0, 1, 1, 1}, 2);
  auto* other = before_arrays.manifest.mutable_features(0);
  other->set_name("entry_channel=(other)");
  other->set_kind("one_hot");
  other->set_source("entry_channel");
  other->set_category("(other)");
  other->add_other_excludes("KHE");
  testing::TestModel after_arrays = before_arrays;
  after_arrays.manifest.mutable_features(0)->add_other_excludes("KFC");

  auto migration = CompareClusters(*BuildModel(1, before_arrays), *BuildModel(2, after_arrays));
  ASSERT_TRUE(migration.ok()) << migration.status();
  EXPECT_FALSE(migration->features_match);
  EXPECT_THAT(migration->feature_difference, HasSubstr("entry_channel=(other)"));
}

TEST(CompareClustersTest, TextMarksTheMatchedCellsAndGivesTheShare) {
  auto before = ClusteredModel(3, Ids(1, 10), {0, 0, 0, 0, 0, 1, 1, 1, 1, 1}, 2);
  auto after = ClusteredModel(4, Ids(1, 12), {1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 1}, 2);
  auto migration = CompareClusters(*before, *after);
  ASSERT_TRUE(migration.ok()) << migration.status();

  const std::string text = FormatClusterMigration(*migration);
  EXPECT_THAT(text, HasSubstr("from version 3 (A) to version 4 (B)"));
  EXPECT_THAT(text, HasSubstr("10 in both; 0 only in A (0.00% of A), 2 only in B (16.67% of B)"));
  EXPECT_THAT(text, HasSubstr("reassigned  20.00% of the customers in both (2 of 10)"));
  EXPECT_THAT(text, HasSubstr("  A0          2     *3      5\n"));
  EXPECT_THAT(text, HasSubstr("  A1         *5      0      5\n"));
  // A0 (age 40) next to its match B1 (age 50), A1 (50) next to B0 (40).
  EXPECT_THAT(text, HasSubstr("                |        A0        B1  |        A1        B0\n"));
  EXPECT_THAT(text, HasSubstr("  age           |     40.00     50.00  |     50.00     40.00\n"));
  // 3 of A0's 5 customers are in B1, and all 3 of B1's came from A0.
  EXPECT_THAT(text, HasSubstr("  pair overlap  |     60.0%    100.0%  |    100.0%     71.4%\n"));
}

TEST(CompareClustersTest, JsonHoldsTheSameFigures) {
  auto before = ClusteredModel(3, Ids(1, 10), {0, 0, 0, 0, 0, 1, 1, 1, 1, 1}, 2);
  auto after = ClusteredModel(4, Ids(1, 12), {1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 1}, 2);
  auto migration = CompareClusters(*before, *after);
  ASSERT_TRUE(migration.ok()) << migration.status();

  google::protobuf::Struct json;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(ClusterMigrationToJson(*migration), &json).ok());
  const auto& fields = json.fields();
  EXPECT_EQ(fields.at("version_before").number_value(), 3);
  EXPECT_EQ(fields.at("common_customers").number_value(), 10);
  EXPECT_EQ(fields.at("only_after").number_value(), 2);
  EXPECT_DOUBLE_EQ(fields.at("reassigned_share").number_value(), 0.2);
  EXPECT_EQ(fields.at("matching").string_value(), "maximum_overlap");
  EXPECT_EQ(fields.at("matched_after").list_value().values(0).number_value(), 1);
  EXPECT_EQ(fields.at("crosstab").list_value().values(1).list_value().values(0).number_value(), 5);
  EXPECT_EQ(fields.at("profiles_after").list_value().values(1).struct_value().fields().at("size").number_value(), 4);
  EXPECT_EQ(fields.at("features").list_value().values(0).struct_value().fields().at("name").string_value(), "age");
}

// recommender-train compare on two versions written to disk.
class CompareCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model_base_ = testing::MakeTempDir("models");
    for (const auto& [ids, clusters] :
         {std::pair<std::vector<int64_t>, std::vector<int32_t>>{Ids(1, 10), {0, 0, 0, 0, 0, 1, 1, 1, 1, 1}},
          std::pair<std::vector<int64_t>, std::vector<int32_t>>{Ids(3, 12), {1, 1, 0, 0, 0, 0, 0, 1, 1, 1}}}) {
      testing::TestModel model = ClusteredArrays(ids, clusters, 2);
      auto version = WriteModelVersion(model_base_, model.manifest, model.arrays);
      ASSERT_TRUE(version.ok()) << version.status();
    }
  }

  testing::CommandResult Run(const std::string& arguments) {
    return testing::RunCommand(absl::StrCat(TRAIN_BINARY, " compare --model-base ", model_base_, " ", arguments));
  }

  std::string model_base_;
};

TEST_F(CompareCommandTest, PrintsTheMigrationOfTwoVersions) {
  // Customers 3..10 are in both. A0 = {3, 4, 5} and A1 = {6..10}; B puts
  // 3, 4 and 10 in B1 and 5..9 in B0: customers 5 and 10 moved.
  const testing::CommandResult result = Run("1 2");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_THAT(result.output, HasSubstr("from version 1 (A) to version 2 (B)"));
  EXPECT_THAT(result.output, HasSubstr("8 in both; 2 only in A (20.00% of A), 2 only in B (20.00% of B)"));
  EXPECT_THAT(result.output, HasSubstr("reassigned  25.00% of the customers in both (2 of 8)"));
  EXPECT_THAT(result.output, HasSubstr("  A0          1     *2      3\n"));
}

TEST_F(CompareCommandTest, JsonAndFlagsAndTheDefaultOfTheTwoNewestAgree) {
  const testing::CommandResult positional = Run("1 2 --json");
  const testing::CommandResult flags = Run("--from 1 --to 2 --json");
  const testing::CommandResult newest = Run("--json");
  ASSERT_EQ(positional.exit_code, 0) << positional.output;
  EXPECT_EQ(flags.output, positional.output);
  EXPECT_EQ(newest.output, positional.output);
  google::protobuf::Struct json;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(positional.output, &json).ok()) << positional.output;
  EXPECT_DOUBLE_EQ(json.fields().at("reassigned_share").number_value(), 0.25);
  EXPECT_EQ(json.fields().at("only_before").number_value(), 2);
}

TEST_F(CompareCommandTest, RefusesAMissingVersionAndIncompleteArguments) {
  const testing::CommandResult missing = Run("1 3");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.output, HasSubstr("manifest.json"));
  const testing::CommandResult one = Run("1");
  EXPECT_EQ(one.exit_code, 2);
  EXPECT_THAT(one.output, HasSubstr("compare needs two version numbers"));
}

TEST(CompareCommandHelpTest, HelpDescribesCompare) {
  const testing::CommandResult help = testing::RunCommand(absl::StrCat(TRAIN_BINARY, " --help"));
  EXPECT_THAT(help.output, HasSubstr("recommender-train compare [A B | --from A --to B]"));
  EXPECT_THAT(help.output, HasSubstr("--json"));
}

}  // namespace
}  // namespace easymoney
