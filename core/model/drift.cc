#include "core/model/drift.h"

#include <algorithm>
#include <cmath>

namespace easymoney {

std::optional<double> PopulationStabilityIndex(std::span<const double> expected, std::span<const int64_t> observed,
                                               int64_t min_samples) {
  if (expected.size() != observed.size() || expected.empty()) return std::nullopt;
  int64_t total = 0;
  for (int64_t count : observed) total += count;
  if (total < std::max<int64_t>(min_samples, 1)) return std::nullopt;
  constexpr double kFloor = 1e-4;
  double psi = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    const double e = std::max(expected[i], kFloor);
    const double a = std::max(static_cast<double>(observed[i]) / static_cast<double>(total), kFloor);
    psi += (a - e) * std::log(a / e);
  }
  return psi;
}

easymoney::model::v1::FeatureDistribution DecileDistribution(const char* feature, std::vector<double> values) {
  easymoney::model::v1::FeatureDistribution out;
  out.set_feature(feature);
  if (values.empty()) return out;
  std::sort(values.begin(), values.end());
  for (int decile = 1; decile <= 9; ++decile) {
    const double bound = values[(values.size() - 1) * decile / 10];
    // Heavily repeated values (ages) give equal deciles: keep one bound.
    if (out.upper_bounds_size() == 0 || bound > out.upper_bounds(out.upper_bounds_size() - 1)) {
      out.add_upper_bounds(bound);
    }
  }
  std::vector<int64_t> counts(static_cast<size_t>(out.upper_bounds_size()) + 1, 0);
  for (double value : values) ++counts[static_cast<size_t>(DistributionBin(out, value))];
  for (int64_t count : counts) out.add_shares(static_cast<double>(count) / static_cast<double>(values.size()));
  return out;
}

int DistributionBin(const easymoney::model::v1::FeatureDistribution& distribution, double value) {
  const auto& bounds = distribution.upper_bounds();
  return static_cast<int>(std::lower_bound(bounds.begin(), bounds.end(), value) - bounds.begin());
}

}  // namespace easymoney
