#ifndef EASYMONEY_TESTS_TESTING_RANDOM_HOLDINGS_H_
#define EASYMONEY_TESTS_TESTING_RANDOM_HOLDINGS_H_

#include <cstdint>
#include <random>

#include <Eigen/Dense>

#include "core/model/matrix.h"

namespace easymoney::testing {

// 80 customers x 9 products, 0/1, product p held with probability
// 0.1 + 0.07 p: the products differ in popularity and co-occur unevenly,
// which is what the item-item factorisations' tests need.
inline Eigen::MatrixXd RandomHoldings(uint32_t seed) {
  std::mt19937 random(seed);
  std::uniform_real_distribution<double> uniform(0, 1);
  Eigen::MatrixXd x = Eigen::MatrixXd::Zero(80, 9);
  for (int u = 0; u < x.rows(); ++u) {
    for (int p = 0; p < x.cols(); ++p) x(u, p) = uniform(random) < 0.1 + 0.07 * p ? 1 : 0;
  }
  return x;
}

inline HoldingsMatrix ToHoldings(const Eigen::MatrixXd& dense) {
  return HoldingsMatrix(dense.cast<float>().sparseView());
}

}  // namespace easymoney::testing

#endif  // EASYMONEY_TESTS_TESTING_RANDOM_HOLDINGS_H_
