#ifndef EASYMONEY_TESTS_TESTING_CLUSTERED_MODEL_H_
#define EASYMONEY_TESTS_TESTING_CLUSTERED_MODEL_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "core/model/model.h"
#include "tests/testing/test_model.h"

namespace easymoney::testing {

// The test model with `ids` as its customers, `clusters` as their clusters
// and one centroid per cluster over the test model's single feature (age,
// mean 40, stddev 10): cluster c's centroid is c, so its age is 40 + 10c.
TestModel ClusteredArrays(std::vector<int64_t> ids, std::vector<int32_t> clusters, int num_clusters);

// `model` built into a Model (null, with a test failure, if it is refused).
std::shared_ptr<const Model> BuildModel(int64_t version, TestModel model);

// ClusteredArrays built into a Model (null, with a test failure, if it is
// refused).
std::shared_ptr<const Model> ClusteredModel(int64_t version, std::vector<int64_t> ids, std::vector<int32_t> clusters,
                                            int num_clusters);

// first, first + 1, ..., last.
std::vector<int64_t> Ids(int64_t first, int64_t last);

}  // namespace easymoney::testing

#endif  // EASYMONEY_TESTS_TESTING_CLUSTERED_MODEL_H_
