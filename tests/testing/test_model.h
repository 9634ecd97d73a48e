#ifndef EASYMONEY_TESTS_TESTING_TEST_MODEL_H_
#define EASYMONEY_TESTS_TESTING_TEST_MODEL_H_

#include <string>

#include "core/model/model.h"

namespace easymoney::testing {

// A hand-made model small enough to check by hand: 4 products (a, b, c, d),
// 2 factors, 3 customers (ids 10, 20, 30), 2 clusters over 1 feature.
//   product_factors   a=(1,0) b=(0,1) c=(1,1) d=(0.5,0)
//   customer 10: factors (2,1), holds {a}, cluster 0
//   customer 20: factors (0,3), holds {},  cluster 1
//   customer 30: factors (1,1), holds {b,c}, cluster 1
//   popularity a=0.5 b=0.1 c=0.3 d=0.3
// So customer 10 scores a=2 b=1 c=3 d=1 (b and d tie at 1).
struct TestModel {
  easymoney::model::v1::ModelManifest manifest;
  ModelArrays arrays;
};
TestModel MakeTestModel();

// A fresh empty directory under the test's temporary directory, removed with
// every other one this process made when it exits, unless a test failed.
std::string MakeTempDir(const std::string& name);

}  // namespace easymoney::testing

#endif  // EASYMONEY_TESTS_TESTING_TEST_MODEL_H_
