#include "absl/strings/string_view.h"
#include "core/model/customer_features.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "core/model/easymoney_schema.h"

namespace easymoney {
namespace {

using easymoney::model::v1::Feature;

// Raw (unstandardised) value of a numeric feature, or nullopt when missing.
// Winsorising is applied by the caller with the spec's bounds.
std::optional<double> RawNumeric(const std::string& source, const CustomerProfile& p) {
  if (source == "age") return p.age;
  if (source == "log_salary") {
    if (!p.salary.has_value() || *p.salary < 0) return std::nullopt;
    return std::log1p(*p.salary);
  }
  if (source == "salary_missing") return p.salary.has_value() ? 0.0 : 1.0;
  if (source == "tenure_months") return p.tenure_months;
  if (source == "active_customer") {
    if (!p.active.has_value()) return std::nullopt;
    return *p.active ? 1.0 : 0.0;
  }
  if (source == "num_products") return p.num_products;
  if (source == "recent_acquisitions") return p.recent_acquisitions;
  return std::nullopt;
}

const std::optional<std::string>& RawCategory(const std::string& source, const CustomerProfile& p) {
  static const std::optional<std::string> kNone;
  if (source == "segment") return p.segment;
  if (source == "gender") return p.gender;
  if (source == "entry_channel") return p.entry_channel;
  return kNone;
}

constexpr char kOtherCategory[] = "(other)";

double Quantile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  const size_t k = static_cast<size_t>(q * static_cast<double>(values.size() - 1));
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(k), values.end());
  return values[k];
}

double ValueOf(const Feature& feature, const CustomerProfile& profile) {
  if (feature.kind() == "one_hot") {
    const auto& category = RawCategory(feature.source(), profile);
    // A missing category counts as the imputed (modal) one: impute_value is
    // 1 on the mode's column and 0 elsewhere.
    if (!category.has_value()) return feature.impute_value();
    if (feature.category() == kOtherCategory) {
      // The pooled column: 1 for any value without a column of its own.
      return feature.other_excludes().end() == std::find(feature.other_excludes().begin(),
                                                         feature.other_excludes().end(), *category)
                 ? 1.0
                 : 0.0;
    }
    return *category == feature.category() ? 1.0 : 0.0;
  }
  const std::optional<double> raw = RawNumeric(feature.source(), profile);
  double value = raw.has_value() && std::isfinite(*raw) ? *raw : feature.impute_value();
  if (feature.winsor_high() > feature.winsor_low()) {
    value = std::clamp(value, feature.winsor_low(), feature.winsor_high());
  }
  return value;
}

}  // namespace

FeatureSpec FitFeatureSpec(std::span<const CustomerProfile> profiles) {
  FeatureSpec spec;
  for (const char* source : {"age", "log_salary", "salary_missing", "tenure_months",
                             "active_customer", "num_products", "recent_acquisitions"}) {
    Feature feature;
    feature.set_name(source);
    feature.set_kind("numeric");
    feature.set_source(source);
    std::vector<double> present;
    present.reserve(profiles.size());
    for (const CustomerProfile& p : profiles) {
      if (auto v = RawNumeric(source, p); v.has_value() && std::isfinite(*v)) present.push_back(*v);
    }
    feature.set_impute_value(Quantile(present, 0.5));
    if (absl::string_view(source) == "log_salary" || absl::string_view(source) == "age") {
      // Salary has absurd outliers in the real data; clip them so one
      // customer cannot stretch the scale for everybody.
      feature.set_winsor_low(Quantile(present, 0.01));
      feature.set_winsor_high(Quantile(present, 0.99));
    }
    spec.push_back(std::move(feature));
  }
  auto count_categories = [&](const char* source) {
    std::map<std::string, int64_t> counts;
    for (const CustomerProfile& p : profiles) {
      if (const auto& c = RawCategory(source, p); c.has_value()) ++counts[*c];
    }
    return counts;
  };
  auto add_one_hot = [&](const char* source, std::vector<std::string> categories) {
    std::map<std::string, int64_t> counts = count_categories(source);
    const bool pooled = !categories.empty() && categories.back() == kOtherCategory;
    if (pooled) {
      for (const auto& [category, count] : counts) {
        if (std::find(categories.begin(), categories.end(), category) == categories.end()) {
          counts[kOtherCategory] += count;
        }
      }
    }
    std::string mode = categories.front();
    int64_t best = -1;
    for (const std::string& c : categories) {
      if (counts[c] > best) {
        best = counts[c];
        mode = c;
      }
    }
    for (const std::string& c : categories) {
      Feature feature;
      feature.set_name(std::string(source) + "=" + c);
      feature.set_kind("one_hot");
      feature.set_source(source);
      feature.set_category(c);
      feature.set_impute_value(c == mode ? 1.0 : 0.0);
      if (c == kOtherCategory) {
        for (const std::string& named : categories) {
          if (named != kOtherCategory) feature.add_other_excludes(named);
        }
      }
      spec.push_back(std::move(feature));
    }
  };
  add_one_hot("segment", std::vector<std::string>(kSegments.begin(), kSegments.end()));
  add_one_hot("gender", {"H", "V"});
  // Entry channels have a long tail; the four most frequent get columns of
  // their own (KHE, KFC, KHQ, KAT on easyMoney), the rest are pooled.
  {
    const std::map<std::string, int64_t> counts = count_categories("entry_channel");
    std::vector<std::pair<int64_t, std::string>> by_count;
    for (const auto& [channel, count] : counts) by_count.emplace_back(-count, channel);
    std::sort(by_count.begin(), by_count.end());
    std::vector<std::string> channels;
    for (size_t i = 0; i < by_count.size() && i < 4; ++i) channels.push_back(by_count[i].second);
    channels.push_back(kOtherCategory);
    add_one_hot("entry_channel", channels);
  }

  // Means and standard deviations of the imputed, winsorised values.
  for (Feature& feature : spec) {
    double sum = 0;
    double sum_squares = 0;
    for (const CustomerProfile& p : profiles) {
      const double v = ValueOf(feature, p);
      sum += v;
      sum_squares += v * v;
    }
    const double n = std::max<double>(1, static_cast<double>(profiles.size()));
    const double mean = sum / n;
    const double variance = std::max(0.0, sum_squares / n - mean * mean);
    feature.set_mean(mean);
    // A constant feature carries no information; a unit scale keeps it at 0
    // instead of dividing by zero.
    feature.set_stddev(variance > 1e-12 ? std::sqrt(variance) : 1.0);
  }
  return spec;
}

void EncodeProfile(const FeatureSpec& spec, const CustomerProfile& profile, std::span<float> out) {
  for (size_t i = 0; i < spec.size(); ++i) {
    out[i] = static_cast<float>((ValueOf(spec[i], profile) - spec[i].mean()) / spec[i].stddev());
  }
}

RowMajorMatrix EncodeProfiles(const FeatureSpec& spec, std::span<const CustomerProfile> profiles) {
  RowMajorMatrix matrix(static_cast<Eigen::Index>(profiles.size()), static_cast<Eigen::Index>(spec.size()));
  for (size_t row = 0; row < profiles.size(); ++row) {
    EncodeProfile(spec, profiles[row],
                  std::span<float>(matrix.row(static_cast<Eigen::Index>(row)).data(), spec.size()));
  }
  return matrix;
}

}  // namespace easymoney
