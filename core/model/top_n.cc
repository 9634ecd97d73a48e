#include "core/model/top_n.h"

#include <algorithm>

namespace easymoney {
std::vector<ScoredIndex> SelectTopN(std::span<const float> scores,
                                    std::span<const uint8_t> excluded, int n) {
  std::vector<ScoredIndex> best;
  if (n <= 0) return best;
  best.reserve(static_cast<size_t>(n) + 1);
  // A bounded min-heap of the best n seen so far: O(P log n) and no
  // allocation proportional to the catalogue.
  for (size_t i = 0; i < scores.size(); ++i) {
    if (!excluded.empty() && excluded[i] != 0) continue;
    const ScoredIndex candidate{static_cast<int32_t>(i), scores[i]};
    if (static_cast<int>(best.size()) < n) {
      best.push_back(candidate);
      std::push_heap(best.begin(), best.end(), RanksBefore);
    } else if (RanksBefore(candidate, best.front())) {
      std::pop_heap(best.begin(), best.end(), RanksBefore);
      best.back() = candidate;
      std::push_heap(best.begin(), best.end(), RanksBefore);
    }
  }
  std::sort_heap(best.begin(), best.end(), RanksBefore);
  return best;
}

}  // namespace easymoney
