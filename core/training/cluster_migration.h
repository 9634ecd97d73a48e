#ifndef EASYMONEY_CORE_TRAINING_CLUSTER_MIGRATION_H_
#define EASYMONEY_CORE_TRAINING_CLUSTER_MIGRATION_H_

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/model/model.h"
#include "core/serving/cluster_reassignment.h"

namespace easymoney {

// How the customers of two model versions moved between their k-means
// clusters, and what the clusters look like in raw units.
//
//   auto migration = CompareClusters(*before, *after);
//   if (migration.ok()) std::printf("%s", FormatClusterMigration(*migration).c_str());
//
// k-means numbers its clusters arbitrarily, so "cluster 2" of one version has
// nothing to do with "cluster 2" of the next. The clusters of `before` (A)
// are therefore matched one to one with those of `after` (B) so that the
// matched cells of the crosstab hold as many common customers as possible,
// and a customer counts as reassigned when B puts them anywhere but the
// cluster matched to their A cluster. Plain data, thread-compatible.
struct ClusterMigration {
  // One row of the profile tables: a feature of either version, by name.
  struct ProfileFeature {
    std::string name;            // e.g. "age", "segment=02 - PARTICULARES".
    bool one_hot = false;        // Values are then shares of the cluster in [0, 1].
    int32_t index_before = -1;   // Column in A's feature spec, or -1 when A lacks it.
    int32_t index_after = -1;    // Column in B's feature spec, or -1 when B lacks it.
  };
  // One cluster of one version.
  struct ClusterProfile {
    // Customers of that version in the cluster (all of them, not only those
    // in both versions).
    int64_t size = 0;
    // The centroid de-standardised with that version's own spec
    // (centroid * stddev + mean), parallel to `features`; NaN for a feature
    // the version does not have. The mean of the cluster's customers in raw
    // units (one-hot features: the share having the category), as far as
    // the trainer's centroids are means of their customers.
    std::vector<double> values;
  };
  enum class Matching {
    kMaximumOverlap,  // Hungarian algorithm: the largest possible matched total.
    kGreedy,          // Largest cells first; for more than kMaxHungarianClusters.
  };

  int64_t version_before = 0;
  int64_t version_after = 0;
  int32_t num_clusters_before = 0;
  int32_t num_clusters_after = 0;
  int64_t customers_before = 0;
  int64_t customers_after = 0;

  int64_t common_customers = 0;  // Customer ids in both versions.
  int64_t only_before = 0;       // In A only (left, or dropped by the trainer).
  int64_t only_after = 0;        // In B only (new).

  // num_clusters_before x num_clusters_after, row-major: the number of
  // common customers in cluster a of A and cluster b of B. Sums to
  // common_customers.
  std::vector<int64_t> crosstab;

  Matching matching = Matching::kMaximumOverlap;
  // matched_after[a]: B's cluster matched to A's cluster a, or -1 when A has
  // more clusters than B and a was left over. matched_before is the inverse
  // (-1 for B's left-over clusters).
  std::vector<int32_t> matched_after;
  std::vector<int32_t> matched_before;
  // Sum of the matched cells: common customers who stayed "in the same
  // cluster".
  int64_t matched_customers = 0;
  // 1 - matched_customers / common_customers, in [0, 1]. With a different
  // number of clusters it cannot reach 0.
  double reassigned_share = 0;

  // Whether both versions have the same features (by name, kind, source,
  // category and pooled categories; order, means and standard deviations may
  // differ, since every training run refits them). When they differ the
  // profiles are still listed, feature by feature where both have it, but a
  // cluster's meaning may have shifted; feature_difference says how.
  bool features_match = true;
  std::string feature_difference;

  // A's features in A's order, then B's features that A lacks.
  std::vector<ProfileFeature> features;
  std::vector<ClusterProfile> profiles_before;  // Indexed by A's cluster.
  std::vector<ClusterProfile> profiles_after;   // Indexed by B's cluster.

  int64_t count(int32_t cluster_before, int32_t cluster_after) const {
    return crosstab[static_cast<size_t>(cluster_before) * static_cast<size_t>(num_clusters_after) +
                    static_cast<size_t>(cluster_after)];
  }
};


// Compares the clusterings of two versions: a merge join over their sorted
// customer ids (O(customers_before + customers_after), no allocation per
// customer), the crosstab, the matching and the profiles. Two versions of 10
// million customers take about 50 ms on one core. Thread-safe (pure function
// of two immutable models). Errors: INVALID_ARGUMENT when the versions have
// no customer in common (the share would be undefined) or the crosstab would
// exceed kMaxCrosstabCells.
absl::StatusOr<ClusterMigration> CompareClusters(const Model& before, const Model& after);



// Monospace text for a terminal: customer counts, the crosstab with the
// matched cells marked, the reassigned share, and each A cluster's profile
// next to its matched B cluster's.
std::string FormatClusterMigration(const ClusterMigration& migration);

// The same as one JSON object (documented in docs/training.md).
std::string ClusterMigrationToJson(const ClusterMigration& migration);

}  // namespace easymoney

#endif  // EASYMONEY_CORE_TRAINING_CLUSTER_MIGRATION_H_
