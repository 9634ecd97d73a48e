#include "core/training/cluster_migration.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/util/json_string.h"

namespace easymoney {
namespace {

using easymoney::model::v1::Feature;





// What identifies a feature beyond its name: a pooled column's meaning
// depends on which categories have columns of their own.
std::string FeatureDefinition(const Feature& feature) {
  std::vector<std::string> excluded(feature.other_excludes().begin(), feature.other_excludes().end());
  std::sort(excluded.begin(), excluded.end());
  return absl::StrCat(feature.kind(), " source '", feature.source(), "' category '", feature.category(), "'",
                      excluded.empty() ? "" : absl::StrCat(" pooling all but ", absl::StrJoin(excluded, ",")));
}

void MatchFeatures(const FeatureSpec& spec_before, const FeatureSpec& spec_after, ClusterMigration& migration) {
  absl::flat_hash_map<std::string, int32_t> after_by_name;
  for (size_t f = 0; f < spec_after.size(); ++f) {
    after_by_name.try_emplace(spec_after[f].name(), static_cast<int32_t>(f));
  }
  std::vector<char> after_used(spec_after.size(), 0);
  auto note = [&](std::string difference) {
    if (migration.features_match) migration.feature_difference = std::move(difference);
    migration.features_match = false;
  };
  for (size_t f = 0; f < spec_before.size(); ++f) {
    const Feature& feature = spec_before[f];
    ClusterMigration::ProfileFeature row;
    row.name = feature.name();
    row.one_hot = feature.kind() == "one_hot";
    row.index_before = static_cast<int32_t>(f);
    if (auto it = after_by_name.find(feature.name());
        it != after_by_name.end() && !after_used[static_cast<size_t>(it->second)]) {
      row.index_after = it->second;
      after_used[static_cast<size_t>(it->second)] = 1;
      const Feature& other = spec_after[static_cast<size_t>(it->second)];
      if (FeatureDefinition(feature) != FeatureDefinition(other)) {
        note(absl::StrCat("feature '", feature.name(), "' is ", FeatureDefinition(feature), " in version ",
                          migration.version_before, " but ", FeatureDefinition(other), " in version ",
                          migration.version_after));
      }
    } else {
      note(absl::StrCat("feature '", feature.name(), "' is only in version ", migration.version_before));
    }
    migration.features.push_back(std::move(row));
  }
  for (size_t f = 0; f < spec_after.size(); ++f) {
    if (after_used[f]) continue;
    ClusterMigration::ProfileFeature row;
    row.name = spec_after[f].name();
    row.one_hot = spec_after[f].kind() == "one_hot";
    row.index_after = static_cast<int32_t>(f);
    note(absl::StrCat("feature '", row.name, "' is only in version ", migration.version_after));
    migration.features.push_back(std::move(row));
  }
}

std::vector<ClusterMigration::ClusterProfile> Profiles(const Model& model,
                                                       const std::vector<ClusterMigration::ProfileFeature>& features,
                                                       bool before) {
  const int32_t num_clusters = model.manifest().num_clusters();
  std::vector<ClusterMigration::ClusterProfile> profiles(static_cast<size_t>(num_clusters));
  for (int32_t cluster : model.customer_clusters()) ++profiles[static_cast<size_t>(cluster)].size;
  const FeatureSpec& spec = model.feature_spec();
  const RowMajorMatrix& centroids = model.cluster_centroids();
  for (int32_t c = 0; c < num_clusters; ++c) {
    std::vector<double>& values = profiles[static_cast<size_t>(c)].values;
    values.reserve(features.size());
    for (const ClusterMigration::ProfileFeature& feature : features) {
      const int32_t index = before ? feature.index_before : feature.index_after;
      if (index < 0) {
        values.push_back(std::numeric_limits<double>::quiet_NaN());
        continue;
      }
      const Feature& spec_feature = spec[static_cast<size_t>(index)];
      values.push_back(static_cast<double>(centroids(c, index)) * spec_feature.stddev() + spec_feature.mean());
    }
  }
  return profiles;
}

void MatchAndScore(ClusterMigration& migration) {
  const int32_t rows = migration.num_clusters_before;
  const int32_t cols = migration.num_clusters_after;
  migration.matching = std::max(rows, cols) <= kMaxHungarianClusters ? ClusterMigration::Matching::kMaximumOverlap
                                                                      : ClusterMigration::Matching::kGreedy;
  migration.matched_after = MatchClusters(migration.crosstab, rows, cols);
  migration.matched_before.assign(static_cast<size_t>(cols), -1);
  migration.matched_customers = 0;
  for (int32_t a = 0; a < rows; ++a) {
    const int32_t b = migration.matched_after[static_cast<size_t>(a)];
    if (b < 0) continue;
    migration.matched_before[static_cast<size_t>(b)] = a;
    migration.matched_customers += migration.count(a, b);
  }
  migration.reassigned_share =
      1.0 - static_cast<double>(migration.matched_customers) / static_cast<double>(migration.common_customers);
}

}  // namespace


absl::StatusOr<ClusterMigration> CompareClusters(const Model& before, const Model& after) {
  absl::StatusOr<ClusterCrosstab> crosstab = CountCommonCustomers(before, after);
  if (!crosstab.ok()) return crosstab.status();
  ClusterMigration migration;
  migration.version_before = before.version();
  migration.version_after = after.version();
  migration.num_clusters_before = before.manifest().num_clusters();
  migration.num_clusters_after = after.manifest().num_clusters();
  migration.customers_before = before.num_customers();
  migration.customers_after = after.num_customers();
  migration.common_customers = crosstab->common;
  migration.only_before = before.num_customers() - crosstab->common;
  migration.only_after = after.num_customers() - crosstab->common;
  migration.crosstab = std::move(crosstab->counts);
  MatchAndScore(migration);
  MatchFeatures(before.feature_spec(), after.feature_spec(), migration);
  migration.profiles_before = Profiles(before, migration.features, /*before=*/true);
  migration.profiles_after = Profiles(after, migration.features, /*before=*/false);
  return migration;
}


namespace {

std::string ClusterLabel(char side, int32_t cluster) {
  return cluster < 0 ? std::string("-") : absl::StrCat(std::string(1, side), cluster);
}

std::string FormatValue(double value, bool one_hot) {
  if (!std::isfinite(value)) return "-";
  // A share of 0 de-standardised in float comes back as -1e-9; print 0.000,
  // not -0.000.
  const double scale = one_hot ? 1000 : 100;
  const double rounded = std::round(value * scale) / scale;
  return absl::StrFormat(one_hot ? "%.3f" : "%.2f", rounded == 0 ? 0.0 : rounded);
}

// The profile columns: each A cluster with its matched B cluster, then B's
// left-over clusters.
std::vector<std::pair<int32_t, int32_t>> ProfilePairs(const ClusterMigration& migration) {
  std::vector<std::pair<int32_t, int32_t>> pairs;
  for (int32_t a = 0; a < migration.num_clusters_before; ++a) {
    pairs.emplace_back(a, migration.matched_after[static_cast<size_t>(a)]);
  }
  for (int32_t b = 0; b < migration.num_clusters_after; ++b) {
    if (migration.matched_before[static_cast<size_t>(b)] < 0) pairs.emplace_back(-1, b);
  }
  return pairs;
}


std::string JsonNumber(double value) {
  return std::isfinite(value) ? absl::StrFormat("%.10g", value) : std::string("null");
}

std::string JsonProfiles(const std::vector<ClusterMigration::ClusterProfile>& profiles) {
  std::vector<std::string> items;
  for (size_t c = 0; c < profiles.size(); ++c) {
    std::vector<std::string> values;
    for (double value : profiles[c].values) values.push_back(JsonNumber(value));
    items.push_back(absl::StrCat("    {\"cluster\": ", c, ", \"size\": ", profiles[c].size, ", \"values\": [",
                                 absl::StrJoin(values, ", "), "]}"));
  }
  return absl::StrCat("[\n", absl::StrJoin(items, ",\n"), "\n  ]");
}

}  // namespace

std::string FormatClusterMigration(const ClusterMigration& m) {
  std::string out;
  absl::StrAppend(&out, "cluster migration from version ", m.version_before, " (A) to version ", m.version_after,
                  " (B)\n");
  absl::StrAppendFormat(&out, "  customers   %d in both; %d only in A (%.2f%% of A), %d only in B (%.2f%% of B)\n",
                        m.common_customers, m.only_before,
                        m.customers_before > 0 ? 100.0 * static_cast<double>(m.only_before) /
                                                     static_cast<double>(m.customers_before)
                                               : 0.0,
                        m.only_after,
                        m.customers_after > 0 ? 100.0 * static_cast<double>(m.only_after) /
                                                    static_cast<double>(m.customers_after)
                                              : 0.0);
  absl::StrAppend(&out, "  clusters    A has ", m.num_clusters_before, ", B has ", m.num_clusters_after,
                  "; matched one to one ",
                  m.matching == ClusterMigration::Matching::kMaximumOverlap
                      ? "for the largest total overlap (Hungarian algorithm)"
                      : "greedily, largest overlap first",
                  "\n");
  absl::StrAppendFormat(&out,
                        "  reassigned  %.2f%% of the customers in both (%d of %d) are not in the B cluster matched "
                        "to their A cluster\n",
                        100.0 * m.reassigned_share, m.common_customers - m.matched_customers, m.common_customers);
  if (!m.features_match) {
    absl::StrAppend(&out, "  WARNING     the feature specs differ, so the profiles are not comparable one to one: ",
                    m.feature_difference, "\n");
  }

  // The crosstab, with row and column totals.
  const int32_t rows = m.num_clusters_before;
  const int32_t cols = m.num_clusters_after;
  const int width = std::max<int>(7, static_cast<int>(absl::StrCat(m.common_customers).size()) + 2);
  absl::StrAppend(&out, "\ncrosstab of the customers in both (rows: A's clusters, columns: B's; * = matched)\n");
  absl::StrAppendFormat(&out, "  %-6s", "");
  for (int32_t b = 0; b < cols; ++b) absl::StrAppendFormat(&out, "%*s", width, ClusterLabel('B', b));
  absl::StrAppendFormat(&out, "%*s\n", width, "total");
  std::vector<int64_t> row_totals(static_cast<size_t>(rows), 0);
  std::vector<int64_t> column_totals(static_cast<size_t>(cols), 0);
  for (int32_t a = 0; a < rows; ++a) {
    absl::StrAppendFormat(&out, "  %-6s", ClusterLabel('A', a));
    int64_t row_total = 0;
    for (int32_t b = 0; b < cols; ++b) {
      const int64_t count = m.count(a, b);
      row_total += count;
      column_totals[static_cast<size_t>(b)] += count;
      const bool matched = m.matched_after[static_cast<size_t>(a)] == b;
      absl::StrAppendFormat(&out, "%*s", width, absl::StrCat(matched ? "*" : "", count));
    }
    row_totals[static_cast<size_t>(a)] = row_total;
    absl::StrAppendFormat(&out, "%*d\n", width, row_total);
  }
  absl::StrAppendFormat(&out, "  %-6s", "total");
  for (int64_t total : column_totals) absl::StrAppendFormat(&out, "%*d", width, total);
  absl::StrAppendFormat(&out, "%*d\n", width, m.common_customers);

  // Profiles, a few cluster pairs per block so lines stay readable.
  constexpr size_t kPairsPerBlock = 4;
  constexpr int kValueWidth = 10;
  const std::vector<std::pair<int32_t, int32_t>> pairs = ProfilePairs(m);
  constexpr char kOverlapRow[] = "pair overlap";
  size_t name_width = std::string(kOverlapRow).size();
  for (const auto& feature : m.features) name_width = std::max(name_width, feature.name.size());
  absl::StrAppend(&out,
                  "\ncluster profiles, each A cluster next to its matched B cluster (centroids in raw units;\n"
                  "one-hot features: share of the cluster; pair overlap: share of the cluster's customers in\n"
                  "both versions that are in the other cluster of the pair)\n");
  for (size_t start = 0; start < pairs.size(); start += kPairsPerBlock) {
    const size_t end = std::min(pairs.size(), start + kPairsPerBlock);
    absl::StrAppendFormat(&out, "  %-*s", static_cast<int>(name_width), "");
    for (size_t p = start; p < end; ++p) {
      absl::StrAppendFormat(&out, "  |%*s%*s", kValueWidth, ClusterLabel('A', pairs[p].first), kValueWidth,
                            ClusterLabel('B', pairs[p].second));
    }
    absl::StrAppend(&out, "\n");
    auto size_of = [](const std::vector<ClusterMigration::ClusterProfile>& profiles, int32_t cluster) {
      return cluster < 0 ? std::string("-") : absl::StrCat(profiles[static_cast<size_t>(cluster)].size);
    };
    absl::StrAppendFormat(&out, "  %-*s", static_cast<int>(name_width), "customers");
    for (size_t p = start; p < end; ++p) {
      absl::StrAppendFormat(&out, "  |%*s%*s", kValueWidth, size_of(m.profiles_before, pairs[p].first), kValueWidth,
                            size_of(m.profiles_after, pairs[p].second));
    }
    absl::StrAppend(&out, "\n");
    absl::StrAppendFormat(&out, "  %-*s", static_cast<int>(name_width), kOverlapRow);
    for (size_t p = start; p < end; ++p) {
      const auto [a, b] = pairs[p];
      auto percent = [&](int64_t total) {
        return a < 0 || b < 0 || total == 0
                   ? std::string("-")
                   : absl::StrFormat("%.1f%%", 100.0 * static_cast<double>(m.count(a, b)) / static_cast<double>(total));
      };
      absl::StrAppendFormat(&out, "  |%*s%*s", kValueWidth, percent(a < 0 ? 0 : row_totals[static_cast<size_t>(a)]),
                            kValueWidth, percent(b < 0 ? 0 : column_totals[static_cast<size_t>(b)]));
    }
    absl::StrAppend(&out, "\n");
    for (size_t f = 0; f < m.features.size(); ++f) {
      const auto& feature = m.features[f];
      auto value_of = [&](const std::vector<ClusterMigration::ClusterProfile>& profiles, int32_t cluster) {
        return cluster < 0 ? std::string("-")
                           : FormatValue(profiles[static_cast<size_t>(cluster)].values[f], feature.one_hot);
      };
      absl::StrAppendFormat(&out, "  %-*s", static_cast<int>(name_width), feature.name);
      for (size_t p = start; p < end; ++p) {
        absl::StrAppendFormat(&out, "  |%*s%*s", kValueWidth, value_of(m.profiles_before, pairs[p].first),
                              kValueWidth, value_of(m.profiles_after, pairs[p].second));
      }
      absl::StrAppend(&out, "\n");
    }
    if (end < pairs.size()) absl::StrAppend(&out, "\n");
  }
  return out;
}

std::string ClusterMigrationToJson(const ClusterMigration& m) {
  std::vector<std::string> crosstab_rows;
  for (int32_t a = 0; a < m.num_clusters_before; ++a) {
    std::vector<int64_t> row(m.crosstab.begin() + static_cast<std::ptrdiff_t>(a) * m.num_clusters_after,
                             m.crosstab.begin() + static_cast<std::ptrdiff_t>(a + 1) * m.num_clusters_after);
    crosstab_rows.push_back(absl::StrCat("    [", absl::StrJoin(row, ", "), "]"));
  }
  std::vector<std::string> features;
  for (const auto& feature : m.features) {
    features.push_back(absl::StrCat("    {\"name\": ", JsonString(feature.name), ", \"one_hot\": ",
                                    feature.one_hot ? "true" : "false", ", \"in_before\": ",
                                    feature.index_before >= 0 ? "true" : "false", ", \"in_after\": ",
                                    feature.index_after >= 0 ? "true" : "false", "}"));
  }
  std::string out = "{\n";
  absl::StrAppend(&out, "  \"version_before\": ", m.version_before, ",\n");
  absl::StrAppend(&out, "  \"version_after\": ", m.version_after, ",\n");
  absl::StrAppend(&out, "  \"customers_before\": ", m.customers_before, ",\n");
  absl::StrAppend(&out, "  \"customers_after\": ", m.customers_after, ",\n");
  absl::StrAppend(&out, "  \"common_customers\": ", m.common_customers, ",\n");
  absl::StrAppend(&out, "  \"only_before\": ", m.only_before, ",\n");
  absl::StrAppend(&out, "  \"only_after\": ", m.only_after, ",\n");
  absl::StrAppend(&out, "  \"num_clusters_before\": ", m.num_clusters_before, ",\n");
  absl::StrAppend(&out, "  \"num_clusters_after\": ", m.num_clusters_after, ",\n");
  absl::StrAppend(&out, "  \"crosstab\": [\n", absl::StrJoin(crosstab_rows, ",\n"), "\n  ],\n");
  absl::StrAppend(&out, "  \"matching\": ",
                  JsonString(m.matching == ClusterMigration::Matching::kMaximumOverlap ? "maximum_overlap" : "greedy"),
                  ",\n");
  absl::StrAppend(&out, "  \"matched_after\": [", absl::StrJoin(m.matched_after, ", "), "],\n");
  absl::StrAppend(&out, "  \"matched_before\": [", absl::StrJoin(m.matched_before, ", "), "],\n");
  absl::StrAppend(&out, "  \"matched_customers\": ", m.matched_customers, ",\n");
  absl::StrAppend(&out, "  \"reassigned_share\": ", JsonNumber(m.reassigned_share), ",\n");
  absl::StrAppend(&out, "  \"features_match\": ", m.features_match ? "true" : "false", ",\n");
  absl::StrAppend(&out, "  \"feature_difference\": ", JsonString(m.feature_difference), ",\n");
  absl::StrAppend(&out, "  \"features\": [\n", absl::StrJoin(features, ",\n"), "\n  ],\n");
  absl::StrAppend(&out, "  \"profiles_before\": ", JsonProfiles(m.profiles_before), ",\n");
  absl::StrAppend(&out, "  \"profiles_after\": ", JsonProfiles(m.profiles_after), "\n");
  absl::StrAppend(&out, "}\n");
  return out;
}

}  // namespace easymoney
