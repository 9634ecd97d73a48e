#include "core/cluster_migration.h"

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
#include "core/model_directory.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/test_model.h"

namespace easymoney {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// The test model with `ids` as its customers, `clusters` as their clusters
// and one centroid per cluster over the test model's single feature (age,
// mean 40, stddev 10): cluster c's centroid is c, so its age is 40 + 10c.
testing::TestModel ClusteredArrays(std::vector<int64_t> ids, std::vector<int32_t> clusters, int num_clusters) {
  testing::TestModel model = testing::MakeTestModel();
  const auto customers = static_cast<Eigen::Index>(ids.size());
  model.manifest.set_num_customers(static_cast<int32_t>(ids.size()));
  model.manifest.set_num_clusters(num_clusters);
  model.arrays.customer_ids = std::move(ids);
  model.arrays.customer_clusters = std::move(clusters);
  model.arrays.customer_factors = RowMajorMatrix::Constant(customers, 2, 1.0f);
  model.arrays.cluster_centroids.resize(num_clusters, 1);
  for (int c = 0; c < num_clusters; ++c) model.arrays.cluster_centroids(c, 0) = static_cast<float>(c);
  model.arrays.holdings_indptr.assign(static_cast<size_t>(customers) + 1, 0);
  model.arrays.holdings_indices.clear();
  return model;
}

std::shared_ptr<const Model> Build(int64_t version, testing::TestModel model) {
  auto built = Model::FromArrays(version, std::move(model.manifest), std::move(model.arrays));
  EXPECT_TRUE(built.ok()) << built.status();
  return built.ok() ? *built : nullptr;
}

std::shared_ptr<const Model> ClusteredModel(int64_t version, std::vector<int64_t> ids, std::vector<int32_t> clusters,
                                            int num_clusters) {
  return Build(version, ClusteredArrays(std::move(ids), std::move(clusters), num_clusters));
}

std::vector<int64_t> Ids(int64_t first, int64_t last) {
  std::vector<int64_t> ids(static_cast<size_t>(last - first + 1));
  std::iota(ids.begin(), ids.end(), first);
  return ids;
}

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
  auto before = Build(1, arrays);
  auto after = Build(2, arrays);

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

  auto migration = CompareClusters(*Build(1, before_arrays), *Build(2, after_arrays));
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

  auto migration = CompareClusters(*Build(1, before_arrays), *Build(2, after_arrays));
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

  auto migration = CompareClusters(*Build(1, before_arrays), *Build(2, after_arrays));
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

// The best total by trying every injective map of the smaller side.
int64_t BruteForceBestTotal(const std::vector<int64_t>& counts, int rows, int cols) {
  const bool transposed = rows > cols;
  const int small = transposed ? cols : rows;
  const int large = transposed ? rows : cols;
  std::vector<int> targets(static_cast<size_t>(large));
  std::iota(targets.begin(), targets.end(), 0);
  int64_t best = 0;
  do {
    int64_t total = 0;
    for (int i = 0; i < small; ++i) {
      const int j = targets[static_cast<size_t>(i)];
      total += transposed ? counts[static_cast<size_t>(j * cols + i)] : counts[static_cast<size_t>(i * cols + j)];
    }
    best = std::max(best, total);
  } while (std::next_permutation(targets.begin(), targets.end()));
  return best;
}

TEST(MatchClustersTest, FindsTheLargestTotalWhereGreedyWouldNot) {
  // Greedy takes the 10 and is left with the 0; the best matching is 9 + 8.
  EXPECT_THAT(MatchClusters(std::vector<int64_t>{10, 9, 8, 0}, 2, 2), ElementsAre(1, 0));
}

TEST(MatchClustersTest, MatchesBruteForceOnRandomRectangularTables) {
  std::mt19937_64 random(11);
  for (int trial = 0; trial < 300; ++trial) {
    const int rows = 1 + static_cast<int>(random() % 6);
    const int cols = 1 + static_cast<int>(random() % 6);
    std::vector<int64_t> counts(static_cast<size_t>(rows * cols));
    for (int64_t& count : counts) count = static_cast<int64_t>(random() % 20);
    const std::vector<int32_t> match = MatchClusters(counts, rows, cols);
    ASSERT_EQ(match.size(), static_cast<size_t>(rows));
    int64_t total = 0;
    std::vector<int> used(static_cast<size_t>(cols), 0);
    int matched = 0;
    for (int r = 0; r < rows; ++r) {
      const int32_t c = match[static_cast<size_t>(r)];
      if (c < 0) continue;
      ASSERT_LT(c, cols);
      ASSERT_EQ(used[static_cast<size_t>(c)]++, 0) << "column " << c << " matched twice";
      total += counts[static_cast<size_t>(r * cols + c)];
      ++matched;
    }
    EXPECT_EQ(matched, std::min(rows, cols));
    EXPECT_EQ(total, BruteForceBestTotal(counts, rows, cols)) << "trial " << trial;
  }
}

TEST(MatchClustersTest, ManyClustersAreMatchedGreedilyAndOneToOne) {
  const int size = kMaxHungarianClusters + 1;
  // The identity plus noise: each row's diagonal cell is its largest.
  std::vector<int64_t> counts(static_cast<size_t>(size) * size, 1);
  for (int i = 0; i < size; ++i) counts[static_cast<size_t>(i) * size + static_cast<size_t>((i + 5) % size)] = 100;
  const std::vector<int32_t> match = MatchClusters(counts, size, size);
  for (int i = 0; i < size; ++i) EXPECT_EQ(match[static_cast<size_t>(i)], (i + 5) % size);
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
