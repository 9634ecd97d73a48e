#include "core/training/month_validation.h"

#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/model/drift.h"
#include "core/util/json_string.h"

namespace easymoney {
namespace {

// Fewer observations make PSI meaningless (biased upwards).
constexpr int64_t kMinPsiSamples = 100;

// One customer column: whether a month's value is missing, and its value as
// a number for the drift check (categories as their index).
struct Column {
  const char* name;
  std::function<bool(const CustomerMonth&)> missing;
  std::function<double(const CustomerMonth&)> value;
  bool categorical;
  // Whether its distribution is compared at all: every month's newcomers
  // bring entry dates no month before had, so that one drifts by design.
  bool drift_checked = true;
};

const std::vector<Column>& Columns() {
  static const std::vector<Column>* const columns = new std::vector<Column>{
      {"age", [](const CustomerMonth& m) { return m.age < 0; }, [](const CustomerMonth& m) { return m.age; }, false},
      {"salary", [](const CustomerMonth& m) { return std::isnan(m.salary); },
       [](const CustomerMonth& m) { return m.salary; }, false},
      {"segment", [](const CustomerMonth& m) { return m.segment < 0; },
       [](const CustomerMonth& m) { return m.segment; }, true},
      {"gender", [](const CustomerMonth& m) { return m.gender < 0; }, [](const CustomerMonth& m) { return m.gender; },
       true},
      {"active_customer", [](const CustomerMonth& m) { return m.active < 0; },
       [](const CustomerMonth& m) { return m.active; }, true},
      {"entry_channel", [](const CustomerMonth& m) { return m.channel < 0; },
       [](const CustomerMonth& m) { return m.channel; }, true},
      {"region_code", [](const CustomerMonth& m) { return m.region < 0; },
       [](const CustomerMonth& m) { return m.region; }, true},
      {"entry_date", [](const CustomerMonth& m) { return m.entry_day == CustomerMonth::kNoDate; },
       [](const CustomerMonth& m) { return m.entry_day; }, false, /*drift_checked=*/false},
  };
  return *columns;
}

// The present customers' values of `column` at `partition` (missing ones
// left out), and how many were missing.
std::vector<double> ValuesAt(const EasyMoneyTables& tables, int partition, const Column& column, int64_t* missing) {
  std::vector<double> values;
  *missing = 0;
  for (size_t row = 0; row < tables.num_customers(); ++row) {
    const CustomerMonth& month = tables.at(partition, row);
    if (!month.present) continue;
    if (column.missing(month)) {
      ++*missing;
    } else {
      values.push_back(column.value(month));
    }
  }
  return values;
}

// PSI of `current` against `reference`: deciles of the reference for
// numbers, one bin per category otherwise.
std::optional<double> Psi(const std::vector<double>& reference, const std::vector<double>& current,
                          bool categorical) {
  if (reference.empty()) return std::nullopt;
  std::vector<double> expected;
  std::vector<int64_t> observed;
  if (categorical) {
    std::map<double, int64_t> reference_counts, current_counts;
    for (double v : reference) ++reference_counts[v];
    for (double v : current) ++current_counts[v];
    for (const auto& [v, n] : current_counts) reference_counts.try_emplace(v, 0);
    for (const auto& [v, n] : reference_counts) {
      expected.push_back(static_cast<double>(n) / static_cast<double>(reference.size()));
      const auto found = current_counts.find(v);
      observed.push_back(found == current_counts.end() ? 0 : found->second);
    }
  } else {
    const easymoney::model::v1::FeatureDistribution deciles = DecileDistribution("feature", reference);
    expected.assign(deciles.shares().begin(), deciles.shares().end());
    observed.assign(expected.size(), 0);
    for (double v : current) ++observed[static_cast<size_t>(DistributionBin(deciles, v))];
  }
  return PopulationStabilityIndex(expected, observed, kMinPsiSamples);
}

double Share(int64_t part, int64_t whole) {
  return whole == 0 ? 0.0 : static_cast<double>(part) / static_cast<double>(whole);
}

}  // namespace

bool MonthValidation::passed() const {
  for (const ValidationCheck& check : checks) {
    if (!check.passed) return false;
  }
  return true;
}

std::string MonthValidation::FailureSummary() const {
  std::string summary;
  for (const ValidationCheck& check : checks) {
    if (check.passed) continue;
    absl::StrAppendFormat(&summary, "%s%s = %.4g, %s %.4g", summary.empty() ? "" : "; ", check.name, check.value,
                          check.upper_bound ? "above the limit" : "below the limit", check.limit);
  }
  return summary;
}

std::string MonthValidation::ToJson() const {
  std::string json = "{\"partition\":";
  AppendJsonString(json, partition);
  json += ",\"previous_partition\":";
  AppendJsonString(json, previous_partition);
  absl::StrAppend(&json, ",\"passed\":", passed() ? "true" : "false", ",\"checks\":[");
  for (size_t i = 0; i < checks.size(); ++i) {
    const ValidationCheck& check = checks[i];
    if (i > 0) json += ',';
    json += "{\"name\":";
    AppendJsonString(json, check.name);
    // JSON has no infinity (a month after one without rows): null.
    absl::StrAppend(&json, ",\"value\":", std::isfinite(check.value) ? absl::StrFormat("%.6g", check.value) : "null");
    absl::StrAppendFormat(&json, ",\"limit\":%.6g,\"bound\":\"%s\",\"passed\":%s}", check.limit,
                          check.upper_bound ? "max" : "min", check.passed ? "true" : "false");
  }
  json += "]}";
  return json;
}

absl::StatusOr<MonthValidation> ValidateNewestMonth(const EasyMoneyTables& tables,
                                                    const MonthValidationLimits& limits) {
  const int current = tables.newest_partition;
  if (current < 1) {
    return absl::FailedPreconditionError("the tables hold a single month: there is no previous month to compare with");
  }
  const int previous = current - 1;
  MonthValidation validation;
  validation.partition = std::string(kPartitions[static_cast<size_t>(current)]);
  validation.previous_partition = std::string(kPartitions[static_cast<size_t>(previous)]);
  const auto add = [&](std::string name, double value, double limit, bool upper_bound) {
    // NaN fails either bound.
    const bool passed = upper_bound ? value <= limit : value >= limit;
    validation.checks.push_back(
        {.name = std::move(name), .value = value, .limit = limit, .upper_bound = upper_bound, .passed = passed});
  };

  int64_t rows_now = 0, rows_before = 0, returning = 0;
  for (size_t row = 0; row < tables.num_customers(); ++row) {
    const bool before = tables.at(previous, row).present;
    const bool now = tables.at(current, row).present;
    rows_before += before;
    rows_now += now;
    returning += before && now;
  }
  add("row_count_change", rows_before == 0 ? INFINITY : std::abs(Share(rows_now, rows_before) - 1.0),
      limits.max_row_count_change, true);
  add("returning_customers", Share(returning, rows_before), limits.min_returning_customers, false);
  add("empty_product_flags",
      Share(tables.quality.missing_product_flags_by_partition[static_cast<size_t>(current)],
            rows_now * static_cast<int64_t>(kProducts.size())),
      limits.max_empty_product_flags, true);

  for (const Column& column : Columns()) {
    int64_t missing_now = 0, missing_before = 0;
    const std::vector<double> now = ValuesAt(tables, current, column, &missing_now);
    const std::vector<double> before = ValuesAt(tables, previous, column, &missing_before);
    const double rate_now = Share(missing_now, rows_now);
    const double rate_before = Share(missing_before, rows_before);
    add(absl::StrCat("missing_rate:", column.name), rate_now, limits.max_missing_rate, true);
    add(absl::StrCat("missing_rate_rise:", column.name), rate_now - rate_before, limits.max_missing_rate_rise, true);
    if (!column.drift_checked) continue;
    if (const std::optional<double> psi = Psi(before, now, column.categorical); psi.has_value()) {
      add(absl::StrCat("feature_psi:", column.name), *psi, limits.max_feature_psi, true);
    }
  }
  return validation;
}

}  // namespace easymoney
