#ifndef EASYMONEY_CORE_MODEL_TOP_N_H_
#define EASYMONEY_CORE_MODEL_TOP_N_H_

#include <cstdint>
#include <span>
#include <vector>

namespace easymoney {

struct ScoredIndex {
  int32_t index;
  float score;
};

// The ranking order everywhere: higher score first, ties to the lower
// catalogue index (deterministic, follows catalogue order).
inline bool RanksBefore(const ScoredIndex& a, const ScoredIndex& b) {
  if (a.score != b.score) return a.score > b.score;
  return a.index < b.index;
}

// Selects the `n` highest scores among the indices whose `excluded` entry is
// 0, best first. Ties are broken by the lower index, so results are
// deterministic and follow catalogue order. Returns fewer than `n` entries
// when fewer candidates remain. `excluded` may be empty (nothing excluded);
// otherwise it has one entry per score. Thread-safe (pure function).
std::vector<ScoredIndex> SelectTopN(std::span<const float> scores,
                                    std::span<const uint8_t> excluded, int n);

}  // namespace easymoney

#endif  // EASYMONEY_CORE_MODEL_TOP_N_H_
