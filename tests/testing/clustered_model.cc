#include "tests/testing/clustered_model.h"

#include <numeric>
#include <utility>

#include "gtest/gtest.h"

namespace easymoney::testing {

TestModel ClusteredArrays(std::vector<int64_t> ids, std::vector<int32_t> clusters, int num_clusters) {
  TestModel model = MakeTestModel();
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

std::shared_ptr<const Model> BuildModel(int64_t version, TestModel model) {
  auto built = Model::FromArrays(version, std::move(model.manifest), std::move(model.arrays));
  EXPECT_TRUE(built.ok()) << built.status();
  return built.ok() ? *built : nullptr;
}

std::shared_ptr<const Model> ClusteredModel(int64_t version, std::vector<int64_t> ids, std::vector<int32_t> clusters,
                                            int num_clusters) {
  return BuildModel(version, ClusteredArrays(std::move(ids), std::move(clusters), num_clusters));
}

std::vector<int64_t> Ids(int64_t first, int64_t last) {
  std::vector<int64_t> ids(static_cast<size_t>(last - first + 1));
  std::iota(ids.begin(), ids.end(), first);
  return ids;
}

}  // namespace easymoney::testing
