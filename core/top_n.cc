#include "core/top_n.h"

#include <algorithm>

namespace easymoney {
namespace {

bool Better(const ScoredIndex& a, const ScoredIndex& b) {
  if (a.score != b.score) return a.score > b.score;
  return a.index < b.index;
}

}  // namespace

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
      std::push_heap(best.begin(), best.end(), Better);
    } else if (Better(candidate, best.front())) {
      std::pop_heap(best.begin(), best.end(), Better);
      best.back() = candidate;
      std::push_heap(best.begin(), best.end(), Better);
    }
  }
  std::sort_heap(best.begin(), best.end(), Better);
  return best;
}

}  // namespace easymoney
