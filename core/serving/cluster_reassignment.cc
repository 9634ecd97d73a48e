#include "core/serving/cluster_reassignment.h"

#include <algorithm>
#include <limits>
#include <numeric>

#include "absl/strings/str_cat.h"

namespace easymoney {
namespace {

// Minimum-cost assignment (Kuhn-Munkres with potentials, the O(n^2 m)
// formulation for n <= m) maximising the total count: costs are negated
// counts. Returns the column of each row.
std::vector<int32_t> HungarianMatch(std::span<const int64_t> counts, int32_t rows, int32_t cols) {
  // The algorithm wants no more rows than columns; transpose otherwise.
  const bool transposed = rows > cols;
  const int32_t n = transposed ? cols : rows;
  const int32_t m = transposed ? rows : cols;
  // 1-based as in the textbook formulation; row/column 0 is the sentinel.
  auto cost = [&](int32_t i, int32_t j) -> int64_t {
    const size_t row = static_cast<size_t>(transposed ? j - 1 : i - 1);
    const size_t col = static_cast<size_t>(transposed ? i - 1 : j - 1);
    return -counts[row * static_cast<size_t>(cols) + col];
  };
  constexpr int64_t kInfinity = std::numeric_limits<int64_t>::max() / 4;
  std::vector<int64_t> row_potential(static_cast<size_t>(n) + 1, 0);
  std::vector<int64_t> col_potential(static_cast<size_t>(m) + 1, 0);
  std::vector<int32_t> row_of_col(static_cast<size_t>(m) + 1, 0);
  std::vector<int32_t> previous_col(static_cast<size_t>(m) + 1, 0);
  std::vector<int64_t> slack(static_cast<size_t>(m) + 1);
  std::vector<char> visited(static_cast<size_t>(m) + 1);
  for (int32_t i = 1; i <= n; ++i) {
    row_of_col[0] = i;
    int32_t col0 = 0;
    std::fill(slack.begin(), slack.end(), kInfinity);
    std::fill(visited.begin(), visited.end(), 0);
    do {
      visited[static_cast<size_t>(col0)] = 1;
      const int32_t row0 = row_of_col[static_cast<size_t>(col0)];
      int64_t delta = kInfinity;
      int32_t col1 = 0;
      for (int32_t j = 1; j <= m; ++j) {
        if (visited[static_cast<size_t>(j)]) continue;
        const int64_t reduced =
            cost(row0, j) - row_potential[static_cast<size_t>(row0)] - col_potential[static_cast<size_t>(j)];
        if (reduced < slack[static_cast<size_t>(j)]) {
          slack[static_cast<size_t>(j)] = reduced;
          previous_col[static_cast<size_t>(j)] = col0;
        }
        if (slack[static_cast<size_t>(j)] < delta) {
          delta = slack[static_cast<size_t>(j)];
          col1 = j;
        }
      }
      for (int32_t j = 0; j <= m; ++j) {
        if (visited[static_cast<size_t>(j)]) {
          row_potential[static_cast<size_t>(row_of_col[static_cast<size_t>(j)])] += delta;
          col_potential[static_cast<size_t>(j)] -= delta;
        } else {
          slack[static_cast<size_t>(j)] -= delta;
        }
      }
      col0 = col1;
    } while (row_of_col[static_cast<size_t>(col0)] != 0);
    do {
      const int32_t col1 = previous_col[static_cast<size_t>(col0)];
      row_of_col[static_cast<size_t>(col0)] = row_of_col[static_cast<size_t>(col1)];
      col0 = col1;
    } while (col0 != 0);
  }
  std::vector<int32_t> match(static_cast<size_t>(rows), -1);
  for (int32_t j = 1; j <= m; ++j) {
    const int32_t i = row_of_col[static_cast<size_t>(j)];
    if (i == 0) continue;
    if (transposed) {
      match[static_cast<size_t>(j - 1)] = i - 1;
    } else {
      match[static_cast<size_t>(i - 1)] = j - 1;
    }
  }
  return match;
}

std::vector<int32_t> GreedyMatch(std::span<const int64_t> counts, int32_t rows, int32_t cols) {
  std::vector<size_t> cells(counts.size());
  std::iota(cells.begin(), cells.end(), size_t{0});
  // Stable on the row-major index: ties go to the lower row, then column.
  std::stable_sort(cells.begin(), cells.end(), [&](size_t x, size_t y) { return counts[x] > counts[y]; });
  std::vector<int32_t> match(static_cast<size_t>(rows), -1);
  std::vector<char> col_taken(static_cast<size_t>(cols), 0);
  int32_t remaining = std::min(rows, cols);
  for (size_t cell : cells) {
    if (remaining == 0) break;
    const size_t row = cell / static_cast<size_t>(cols);
    const size_t col = cell % static_cast<size_t>(cols);
    if (match[row] >= 0 || col_taken[col]) continue;
    match[row] = static_cast<int32_t>(col);
    col_taken[col] = 1;
    --remaining;
  }
  return match;
}

}  // namespace

// The inner loop is
// branch-free (the ids of two monthly versions interleave unpredictably
// where customers come and go): every step advances the side(s) holding the
// smaller id and adds 1 to a crosstab cell only when the ids are equal.
absl::StatusOr<ClusterCrosstab> CountCommonCustomers(const Model& before, const Model& after) {
  const int32_t clusters_before = before.manifest().num_clusters();
  const int32_t clusters_after = after.manifest().num_clusters();
  if (static_cast<int64_t>(clusters_before) * clusters_after > kMaxCrosstabCells) {
    return absl::InvalidArgumentError(absl::StrCat(
        "versions ", before.version(), " and ", after.version(), " have ", clusters_before, " and ",
        clusters_after, " clusters; comparing them needs more than ", kMaxCrosstabCells, " crosstab cells"));
  }
  ClusterCrosstab crosstab;
  crosstab.counts.assign(static_cast<size_t>(clusters_before) * static_cast<size_t>(clusters_after), 0);
  const std::span<const int64_t> ids_before = before.customer_ids();
  const std::span<const int64_t> ids_after = after.customer_ids();
  const int32_t* cluster_of_before = before.customer_clusters().data();
  const int32_t* cluster_of_after = after.customer_clusters().data();
  int64_t* cells = crosstab.counts.data();
  const size_t size_before = ids_before.size();
  const size_t size_after = ids_after.size();
  const size_t stride = static_cast<size_t>(clusters_after);
  size_t i = 0;
  size_t j = 0;
  while (i < size_before && j < size_after) {
    const int64_t id_before = ids_before[i];
    const int64_t id_after = ids_after[j];
    cells[static_cast<size_t>(cluster_of_before[i]) * stride + static_cast<size_t>(cluster_of_after[j])] +=
        static_cast<int64_t>(id_before == id_after);
    i += static_cast<size_t>(id_before <= id_after);
    j += static_cast<size_t>(id_after <= id_before);
  }
  for (int64_t count : crosstab.counts) crosstab.common += count;
  if (crosstab.common == 0) {
    return absl::InvalidArgumentError(absl::StrCat("versions ", before.version(), " (", before.num_customers(),
                                                   " customers) and ", after.version(), " (",
                                                   after.num_customers(), " customers) have no customer in common"));
  }
  return crosstab;
}

std::vector<int32_t> MatchClusters(std::span<const int64_t> counts, int32_t rows, int32_t cols) {
  if (rows <= 0 || cols <= 0) return std::vector<int32_t>(static_cast<size_t>(std::max(rows, 0)), -1);
  if (std::max(rows, cols) <= kMaxHungarianClusters) return HungarianMatch(counts, rows, cols);
  return GreedyMatch(counts, rows, cols);
}

double ReassignedShare(const Model& before, const Model& after) {
  const absl::StatusOr<ClusterCrosstab> crosstab = CountCommonCustomers(before, after);
  if (!crosstab.ok()) return std::numeric_limits<double>::quiet_NaN();
  const int32_t rows = before.manifest().num_clusters();
  const int32_t cols = after.manifest().num_clusters();
  const std::vector<int32_t> matched = MatchClusters(crosstab->counts, rows, cols);
  int64_t stayed = 0;
  for (int32_t row = 0; row < rows; ++row) {
    const int32_t col = matched[static_cast<size_t>(row)];
    if (col >= 0) stayed += crosstab->counts[static_cast<size_t>(row) * static_cast<size_t>(cols) + col];
  }
  return 1.0 - static_cast<double>(stayed) / static_cast<double>(crosstab->common);
}

}  // namespace easymoney
