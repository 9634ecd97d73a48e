#ifndef EASYMONEY_CORE_MODEL_DRIFT_H_
#define EASYMONEY_CORE_MODEL_DRIFT_H_

// Population stability index (PSI) and the reference histograms it compares
// against. PSI = sum_i (a_i - e_i) ln(a_i / e_i) over bins, with a_i the
// observed and e_i the expected share; by convention < 0.1 is stable,
// 0.1-0.2 a moderate shift and > 0.2 a significant one (docs/kpis.md).

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "easymoney/model/v1/manifest.pb.h"

namespace easymoney {

// PSI of `observed` counts against `expected` shares (same number of bins).
// Empty bins on either side are floored at 1e-4 so the index stays finite.
// nullopt when fewer than `min_samples` were observed (small samples give a
// PSI biased upwards by about (bins - 1) / samples).
std::optional<double> PopulationStabilityIndex(std::span<const double> expected, std::span<const int64_t> observed,
                                               int64_t min_samples);

// Decile histogram of `values` (at most 9 distinct upper bounds).
easymoney::model::v1::FeatureDistribution DecileDistribution(const char* feature, std::vector<double> values);

// The bin of `value` in a distribution (0 .. upper_bounds.size()).
int DistributionBin(const easymoney::model::v1::FeatureDistribution& distribution, double value);

}  // namespace easymoney

#endif  // EASYMONEY_CORE_MODEL_DRIFT_H_
