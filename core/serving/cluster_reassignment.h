#ifndef EASYMONEY_CORE_SERVING_CLUSTER_REASSIGNMENT_H_
#define EASYMONEY_CORE_SERVING_CLUSTER_REASSIGNMENT_H_

// How many customers changed cluster between two versions, after matching
// the two versions' clusters to each other (k-means numbers its clusters
// arbitrarily). The server sets its reassignment gauge from it after each
// swap of the stable version; the trainer's `compare` report
// (core/training/cluster_migration.h) builds on the same crosstab and
// matching. Pure functions of immutable models; thread-safe.

#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "core/model/model.h"

namespace easymoney {

// Above this many clusters on the larger side the matching is greedy (the
// Hungarian algorithm is cubic in the number of clusters).
inline constexpr int32_t kMaxHungarianClusters = 256;

// CountCommonCustomers (and so CompareClusters) refuses versions whose crosstab would have more cells
// (32 MiB of counts): such "clusterings" are not k-means customer segments.
inline constexpr int64_t kMaxCrosstabCells = int64_t{1} << 22;

// Customers in both versions, cross-tabulated by cluster: counts is
// clusters_before x clusters_after, row-major.
struct ClusterCrosstab {
  std::vector<int64_t> counts;
  int64_t common = 0;
};

// A merge join over the two versions' sorted customer ids
// (O(customers_before + customers_after), no allocation per customer).
// INVALID_ARGUMENT when the versions have no customer in common or the
// crosstab would exceed kMaxCrosstabCells.
absl::StatusOr<ClusterCrosstab> CountCommonCustomers(const Model& before, const Model& after);

// A one-to-one matching of rows to columns of a non-negative rows x cols
// matrix (row-major, counts.size() == rows * cols) with the largest total:
// result[row] is the row's column, or -1 for rows left over when rows > cols.
// Exact (Hungarian algorithm, O(n^3)) up to kMaxHungarianClusters on the
// larger side, greedy (largest cells first, ties to the lower row then
// column) above. Exposed for tests.
std::vector<int32_t> MatchClusters(std::span<const int64_t> counts, int32_t rows, int32_t cols);

// The share of the customers in both versions whose cluster is not the one
// matched to their old cluster, in [0, 1] (about 35 ms for 10 million
// customers); NaN when CountCommonCustomers fails.
double ReassignedShare(const Model& before, const Model& after);

}  // namespace easymoney

#endif  // EASYMONEY_CORE_SERVING_CLUSTER_REASSIGNMENT_H_
