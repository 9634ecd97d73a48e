#include "core/model/customer_features.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace easymoney {
namespace {

// Column of the feature called `name`; fails the test when absent.
int ColumnOf(const FeatureSpec& spec, const std::string& name) {
  for (size_t i = 0; i < spec.size(); ++i) {
    if (spec[i].name() == name) return static_cast<int>(i);
  }
  ADD_FAILURE() << "no feature named " << name;
  return 0;
}

std::vector<float> Encode(const FeatureSpec& spec, const CustomerProfile& profile) {
  std::vector<float> out(spec.size());
  EncodeProfile(spec, profile, out);
  return out;
}

CustomerProfile Profile(double age, double salary, const std::string& segment) {
  CustomerProfile profile;
  profile.age = age;
  profile.salary = salary;
  profile.tenure_months = 12;
  profile.active = true;
  profile.segment = segment;
  profile.gender = std::string("H");
  profile.entry_channel = std::string("KHE");
  profile.num_products = 1;
  return profile;
}

// A varied population in which every feature column takes at least two
// values: all segments, both genders, six entry channels (four get their
// own column, two are pooled), missing salaries and activity flags.
std::vector<CustomerProfile> VariedProfiles() {
  const char* segments[] = {"01 - TOP", "02 - PARTICULARES", "03 - UNIVERSITARIO"};
  const char* channels[] = {"KHE", "KHE", "KHE", "KFC", "KFC", "KHQ", "KAT", "RED", "KHK"};
  std::vector<CustomerProfile> profiles;
  for (int i = 0; i < 300; ++i) {
    CustomerProfile p;
    p.age = 18 + (i * 7) % 70;
    if (i % 5 != 0) p.salary = 20000.0 + 1000.0 * ((i * 13) % 200);
    p.tenure_months = (i * 11) % 240;
    if (i % 17 != 0) p.active = (i % 3 == 0);
    p.segment = std::string(segments[(i * 5) % 3]);
    p.gender = std::string((i % 2 == 0) ? "H" : "V");
    p.entry_channel = std::string(channels[i % 9]);
    p.num_products = (i * 3) % 5;
    p.recent_acquisitions = (i % 7 == 0) ? 1 : 0;
    profiles.push_back(p);
  }
  return profiles;
}

TEST(CustomerFeaturesTest, ImputesMedianForMissingAge) {
  std::vector<CustomerProfile> profiles;
  // Mean 46, median 40: only the median passes.
  for (double age : {20, 30, 40, 50, 90}) profiles.push_back(Profile(age, 1000, "01 - TOP"));
  CustomerProfile missing = Profile(0, 1000, "01 - TOP");
  missing.age.reset();
  profiles.push_back(missing);

  const FeatureSpec spec = FitFeatureSpec(profiles);
  const int age = ColumnOf(spec, "age");
  EXPECT_DOUBLE_EQ(spec[age].impute_value(), 40);
  EXPECT_FLOAT_EQ(Encode(spec, missing)[age], Encode(spec, Profile(40, 1000, "01 - TOP"))[age]);
  EXPECT_NE(Encode(spec, missing)[age], Encode(spec, Profile(30, 1000, "01 - TOP"))[age]);
}

TEST(CustomerFeaturesTest, ImputesMedianForMissingSalary) {
  std::vector<CustomerProfile> profiles;
  for (double salary : {1000, 2000, 3000, 4000, 5000}) profiles.push_back(Profile(40, salary, "01 - TOP"));
  CustomerProfile missing = Profile(40, 0, "01 - TOP");
  missing.salary.reset();
  profiles.push_back(missing);

  const FeatureSpec spec = FitFeatureSpec(profiles);
  const int log_salary = ColumnOf(spec, "log_salary");
  EXPECT_DOUBLE_EQ(spec[log_salary].impute_value(), std::log1p(3000.0));
  EXPECT_FLOAT_EQ(Encode(spec, missing)[log_salary], Encode(spec, Profile(40, 3000, "01 - TOP"))[log_salary]);
  // The indicator tells the imputed salary from a real one.
  const int salary_missing = ColumnOf(spec, "salary_missing");
  EXPECT_GT(Encode(spec, missing)[salary_missing], Encode(spec, Profile(40, 3000, "01 - TOP"))[salary_missing]);
}

TEST(CustomerFeaturesTest, ImputesModeForMissingSegment) {
  std::vector<CustomerProfile> profiles = {
      Profile(30, 1000, "02 - PARTICULARES"), Profile(40, 2000, "02 - PARTICULARES"),
      Profile(50, 3000, "02 - PARTICULARES"), Profile(60, 4000, "01 - TOP"),
      Profile(20, 5000, "03 - UNIVERSITARIO")};
  CustomerProfile missing = Profile(30, 1000, "");
  missing.segment.reset();
  profiles.push_back(missing);

  const FeatureSpec spec = FitFeatureSpec(profiles);
  const std::vector<float> imputed = Encode(spec, missing);
  const std::vector<float> modal = Encode(spec, Profile(30, 1000, "02 - PARTICULARES"));
  const std::vector<float> top = Encode(spec, Profile(30, 1000, "01 - TOP"));
  for (const char* column : {"segment=01 - TOP", "segment=02 - PARTICULARES", "segment=03 - UNIVERSITARIO"}) {
    const int c = ColumnOf(spec, column);
    EXPECT_FLOAT_EQ(imputed[c], modal[c]) << column;
  }
  EXPECT_NE(imputed[ColumnOf(spec, "segment=01 - TOP")], top[ColumnOf(spec, "segment=01 - TOP")]);
}

TEST(CustomerFeaturesTest, WinsorisingClipsSalaryOutlier) {
  std::vector<CustomerProfile> profiles;
  for (int i = 1; i < 200; ++i) profiles.push_back(Profile(40, 1000.0 * i, "01 - TOP"));
  const CustomerProfile outlier = Profile(40, 1e12, "01 - TOP");
  profiles.push_back(outlier);

  const FeatureSpec spec = FitFeatureSpec(profiles);
  const int log_salary = ColumnOf(spec, "log_salary");
  float largest_regular = std::numeric_limits<float>::lowest();
  for (int i = 1; i < 200; ++i) {
    largest_regular = std::max(largest_regular, Encode(spec, profiles[i - 1])[log_salary]);
  }
  const float encoded_outlier = Encode(spec, outlier)[log_salary];
  const double unclipped = (std::log1p(1e12) - spec[log_salary].mean()) / spec[log_salary].stddev();
  EXPECT_LE(encoded_outlier, largest_regular);
  EXPECT_LT(spec[log_salary].winsor_high(), std::log1p(1e12));
  EXPECT_LT(encoded_outlier, unclipped - 1.0);
}

TEST(CustomerFeaturesTest, StandardisedFeaturesHaveZeroMeanAndUnitDeviationOverFittingSet) {
  const std::vector<CustomerProfile> profiles = VariedProfiles();
  const FeatureSpec spec = FitFeatureSpec(profiles);
  const RowMajorMatrix x = EncodeProfiles(spec, profiles);
  ASSERT_EQ(x.rows(), static_cast<Eigen::Index>(profiles.size()));
  ASSERT_EQ(x.cols(), static_cast<Eigen::Index>(spec.size()));
  for (Eigen::Index c = 0; c < x.cols(); ++c) {
    const Eigen::ArrayXd column = x.col(c).cast<double>().array();
    const double mean = column.mean();
    const double stddev = std::sqrt((column - mean).square().mean());
    EXPECT_NEAR(mean, 0.0, 1e-5) << spec[c].name();
    EXPECT_NEAR(stddev, 1.0, 1e-4) << spec[c].name();
  }
}

TEST(CustomerFeaturesTest, EncodeProfileMatchesRowOfEncodeProfiles) {
  const std::vector<CustomerProfile> profiles = VariedProfiles();
  const FeatureSpec spec = FitFeatureSpec(profiles);
  const RowMajorMatrix x = EncodeProfiles(spec, profiles);
  for (size_t row : {size_t{0}, size_t{5}, size_t{17}, size_t{123}, profiles.size() - 1}) {
    const std::vector<float> one = Encode(spec, profiles[row]);
    for (size_t c = 0; c < spec.size(); ++c) {
      EXPECT_EQ(one[c], x(static_cast<Eigen::Index>(row), static_cast<Eigen::Index>(c)))
          << "row " << row << " feature " << spec[c].name();
    }
  }
}

TEST(CustomerFeaturesTest, ConstantFeatureGetsUnitDeviationAndNoNaN) {
  std::vector<CustomerProfile> profiles;
  for (double salary : {1000, 2000, 3000, 4000}) profiles.push_back(Profile(35, salary, "01 - TOP"));

  const FeatureSpec spec = FitFeatureSpec(profiles);
  const int age = ColumnOf(spec, "age");
  EXPECT_DOUBLE_EQ(spec[age].stddev(), 1.0);
  const RowMajorMatrix x = EncodeProfiles(spec, profiles);
  EXPECT_TRUE(x.allFinite());
  for (Eigen::Index row = 0; row < x.rows(); ++row) EXPECT_EQ(x(row, age), 0.0f);
}

}  // namespace
}  // namespace easymoney
