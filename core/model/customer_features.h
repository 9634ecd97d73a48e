#ifndef EASYMONEY_CORE_MODEL_CUSTOMER_FEATURES_H_
#define EASYMONEY_CORE_MODEL_CUSTOMER_FEATURES_H_

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/model/matrix.h"
#include "easymoney/model/v1/manifest.pb.h"

namespace easymoney {

// What we know about one customer at a partition, before encoding. Missing
// values are nullopt and get the feature spec's imputation value.
struct CustomerProfile {
  std::optional<double> age;
  std::optional<double> salary;
  std::optional<double> tenure_months;  // From entry_date to the partition.
  std::optional<bool> active;
  std::optional<std::string> segment;  // "01 - TOP", ...
  std::optional<std::string> gender;   // "H" or "V".
  std::optional<std::string> entry_channel;  // "KHE", "KFC", ...
  double num_products = 0;
  double recent_acquisitions = 0;  // Products held now but not a month before.
};

// The clustering features in order. The same code turns a profile into
// features at training time and (for cold start) at serving time, driven by
// the spec stored in the manifest, so the two cannot drift apart.
//
//   auto spec = FitFeatureSpec(profiles);           // training
//   RowMajorMatrix x = EncodeProfiles(spec, profiles);
//   std::vector<float> one(spec.size());
//   EncodeProfile(spec, profile, one);              // serving
//
// Numeric features: age, log1p(salary) winsorised to the 1st..99th
// percentile, a salary-missing indicator, tenure, activity, product counts.
// Categorical: one-hot segment, gender and entry channel (the four most
// frequent channels, the rest pooled as "other"). Missing numeric values are
// imputed with the training median, missing categories with the mode.
using FeatureSpec = std::vector<easymoney::model::v1::Feature>;

// Fits means, standard deviations and imputation values over `profiles`.
FeatureSpec FitFeatureSpec(std::span<const CustomerProfile> profiles);

// Encodes one profile into `out` (spec.size() floats), standardised.
void EncodeProfile(const FeatureSpec& spec, const CustomerProfile& profile, std::span<float> out);

// Encodes many profiles into a profiles x features matrix.
RowMajorMatrix EncodeProfiles(const FeatureSpec& spec, std::span<const CustomerProfile> profiles);

}  // namespace easymoney

#endif  // EASYMONEY_CORE_MODEL_CUSTOMER_FEATURES_H_
