#ifndef EASYMONEY_CORE_MODEL_SCORING_KERNEL_H_
#define EASYMONEY_CORE_MODEL_SCORING_KERNEL_H_

// The request hot path's arithmetic: inner products of one customer's factor
// vector with every product's, plus a per-product bias, fused with top-N
// selection so a large catalogue's scores are never written to memory.
//
// Product factors are repacked at model load into panels of kPanelWidth
// products stored factor-major (panel p holds products 16p..16p+15; its f-th
// group of 16 floats is factor f of those products). Scores of a panel are
// then accumulated in SIMD lanes, one product per lane, with no horizontal
// sums, and the panels stream through memory in order. The functions are
// compiled for AVX-512, AVX2+FMA and baseline x86-64, picked at load time
// for the machine that runs them.
//
// Every product's score is summed over factors in order 0..F-1, so for a
// given machine a score does not depend on the catalogue size, the batch
// size or which function computed it: the server and the offline evaluation
// (which both go through this file) rank identically.

#include <cstdint>
#include <span>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "core/model/matrix.h"
#include "core/model/top_n.h"

namespace easymoney {

inline constexpr int kPanelWidth = 16;

// A products x factors matrix in panel layout. Immutable after
// construction; thread-safe to read.
class PackedFactors {
 public:
  PackedFactors() = default;
  explicit PackedFactors(const RowMajorMatrix& rows);

  int64_t rows() const { return rows_; }
  int cols() const { return cols_; }
  int64_t num_panels() const { return (rows_ + kPanelWidth - 1) / kPanelWidth; }
  const float* panel(int64_t index) const { return data_.data() + index * cols_ * kPanelWidth; }
  size_t bytes() const { return data_.size() * sizeof(float); }

 private:
  int64_t rows_ = 0;
  int cols_ = 0;
  std::vector<float> data_;  // num_panels x cols x kPanelWidth, zero padded.
};

// Results up to this many are kept without touching the heap.
inline constexpr int kInlineResults = 16;
using TopNList = absl::InlinedVector<ScoredIndex, kInlineResults>;

// weight x popularity, the bias of a personalised score; empty when the
// weight is 0 (no bias).
std::vector<float> ProductScoreBias(std::span<const float> popularity, float weight);

// The `num_results` best of precomputed `scores` (same order and exclusion
// rules as TopNScores) into `out`.
void SelectTopNInto(std::span<const float> scores, std::span<const uint8_t> excluded, int num_results,
                    TopNList& out);

// scores[p] = product_factors[p] . customer_factors + bias[p] for every
// product. `bias` may be empty (no bias); `scores` has rows() entries.
void ScoreAll(const PackedFactors& product_factors, std::span<const float> customer_factors,
              std::span<const float> bias, std::span<float> scores);

// The `num_results` best (score desc, ties by lower index) products whose
// `excluded` entry is 0 (`excluded` empty: none excluded), scored as
// ScoreAll does, into `out` (cleared first; fewer when fewer remain).
// Allocates nothing when num_results <= kInlineResults. Same result as
// ScoreAll + SelectTopNInto.
void TopNScores(const PackedFactors& product_factors, std::span<const float> customer_factors,
                std::span<const float> bias, std::span<const uint8_t> excluded, int num_results, TopNList& out);

// TopNScores for each row of `batch_customer_factors` (batch x cols,
// row-major), sharing each panel's trip through memory across the batch and
// scoring several customers x panels per step from registers. Same results
// as TopNScores row by row. `out` has one list per row.
void TopNScoresBatch(const PackedFactors& product_factors, std::span<const float> batch_customer_factors,
                     std::span<const float> bias, int num_results, std::span<TopNList> out);

}  // namespace easymoney

#endif  // EASYMONEY_CORE_MODEL_SCORING_KERNEL_H_
