#include "core/model/scoring_kernel.h"

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <type_traits>

#include <immintrin.h>

namespace easymoney {
namespace {

// Each entry point below is compiled three times (AVX-512 with 512-bit
// vectors, AVX2 + FMA, baseline x86-64) from one always-inline body and
// picked once by CPU features. This file is built with -ffp-contract=fast
// so the AVX2 and AVX-512 versions use fused multiply-adds.
#define EASYMONEY_AVX512 __attribute__((target("avx512f,avx512vl,avx2,fma,prefer-vector-width=512")))
#define EASYMONEY_AVX2 __attribute__((target("avx2,fma")))

enum class Isa { kBaseline, kAvx2, kAvx512 };

Isa DetectIsa() {
  __builtin_cpu_init();
  // For benchmarks and for ruling the kernel out when debugging: force a
  // narrower version (never a wider one than the CPU has).
  if (const char* forced = std::getenv("EASYMONEY_SCORING_ISA"); forced != nullptr) {
    if (std::strcmp(forced, "baseline") == 0) return Isa::kBaseline;
    if (std::strcmp(forced, "avx2") == 0 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
      return Isa::kAvx2;
    }
  }
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")) return Isa::kAvx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::kAvx2;
  return Isa::kBaseline;
}

const Isa kIsa = DetectIsa();

// Defines NAME##Avx512, NAME##Avx2 and NAME##Baseline with the body BODY
// (an always-inline function) and NAME dispatching to the best of them.
#define EASYMONEY_DISPATCH(NAME, BODY, PARAMS, ARGS)   \
  EASYMONEY_AVX512 void NAME##Avx512 PARAMS { BODY<Vec16> ARGS; } \
  EASYMONEY_AVX2 void NAME##Avx2 PARAMS { BODY<Vec8> ARGS; }       \
  void NAME##Baseline PARAMS { BODY<Vec4> ARGS; }                  \
  void NAME PARAMS {                                       \
    switch (kIsa) {                                        \
      case Isa::kAvx512:                                   \
        return NAME##Avx512 ARGS;                          \
      case Isa::kAvx2:                                     \
        return NAME##Avx2 ARGS;                            \
      case Isa::kBaseline:                                 \
        return NAME##Baseline ARGS;                        \
    }                                                      \
  }

// Panels scored per step: four independent accumulator sets hide the
// multiply-add latency that one panel's single chain per lane would expose.
constexpr int kGroup = 4;

// Native vectors of each version: a panel's 16 lanes are one AVX-512
// register, two AVX2 or four SSE registers. Each version is written with its
// own width (a 64-byte GCC vector on AVX2 or SSE is lowered through the
// stack, several times slower than scalar code). Local vectors stay in
// registers; a plain float-array accumulator would not.
typedef float Vec16 __attribute__((vector_size(64)));
typedef float Vec8 __attribute__((vector_size(32)));
typedef float Vec4 __attribute__((vector_size(16)));

// ranks[j] = how many of the 16 `usable` scores rank before usable[j]
// (higher, or equal at a lower index), for j < count. One compare per
// product against all 16 lanes; the -inf of unusable lanes ranks before no
// usable score. The last argument picks the version, as for Broadcast.
EASYMONEY_AVX512 inline void RankAll(const float* usable, int count, uint32_t* ranks, Vec16) {
  const __m512 all = _mm512_loadu_ps(usable);
  for (int j = 0; j < count; ++j) {
    const __m512 score = _mm512_set1_ps(usable[j]);
    const unsigned above = _mm512_cmp_ps_mask(all, score, _CMP_GT_OQ);
    const unsigned tied_before = _mm512_cmp_ps_mask(all, score, _CMP_EQ_OQ) & ((1u << j) - 1);
    ranks[j] = static_cast<uint32_t>(std::popcount(above | tied_before));
  }
}
EASYMONEY_AVX2 inline void RankAll(const float* usable, int count, uint32_t* ranks, Vec8) {
  const __m256 low = _mm256_loadu_ps(usable);
  const __m256 high = _mm256_loadu_ps(usable + 8);
  for (int j = 0; j < count; ++j) {
    const __m256 score = _mm256_set1_ps(usable[j]);
    const unsigned above = static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(low, score, _CMP_GT_OQ))) |
                           static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(high, score, _CMP_GT_OQ))) << 8;
    const unsigned tied = static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(low, score, _CMP_EQ_OQ))) |
                          static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(high, score, _CMP_EQ_OQ))) << 8;
    ranks[j] = static_cast<uint32_t>(std::popcount(above | (tied & ((1u << j) - 1))));
  }
}

template <typename V>
inline __attribute__((always_inline)) V LoadVec(const float* from) {
  V v;
  std::memcpy(&v, from, sizeof(V));
  return v;
}

// Scores kPanels consecutive panels (at `panels`) into out[kPanels * 16].
template <typename V, int kPanels>
inline __attribute__((always_inline)) void ScorePanels(const float* panels, int cols, const float* u, float* out) {
  constexpr int kWidth = static_cast<int>(sizeof(V) / sizeof(float));
  constexpr int kPerPanel = kPanelWidth / kWidth;
  V acc[kPanels * kPerPanel];
  for (int i = 0; i < kPanels * kPerPanel; ++i) acc[i] = V{};
  const int64_t panel_stride = static_cast<int64_t>(cols) * kPanelWidth;
  for (int f = 0; f < cols; ++f) {
    const V uf = V{} + u[f];
    for (int g = 0; g < kPanels; ++g) {
      for (int k = 0; k < kPerPanel; ++k) {
        acc[g * kPerPanel + k] += LoadVec<V>(panels + g * panel_stride + f * kPanelWidth + k * kWidth) * uf;
      }
    }
  }
  std::memcpy(out, acc, sizeof(acc));
}

// Results up to this many are kept as a sorted array (insertion by shifting,
// which beats a heap at these sizes); more use a bounded heap.
constexpr int kSortedLimit = 64;
// Most products Selector::OfferRanked takes at once (one panel).
constexpr int kMaxRanked = kPanelWidth;

// The n best candidates seen so far. Candidates arrive in ascending index
// order, so once n are kept a candidate enters only when its score is
// strictly above the worst kept one (an equal score has a higher index and
// loses the tie); that one comparison, against a threshold held in a
// register, rejects almost every product of a large catalogue.
class Selector {
 public:
  Selector(TopNList& best, int n, const uint8_t* excluded)
      : best_(best), n_(std::max(n, 0)), excluded_(excluded) {
    best_.resize(static_cast<size_t>(n_));  // No allocation up to kInlineResults.
    data_ = best_.data();
  }

  // Offers products [first, first + count) with scores `scores`.
  inline __attribute__((always_inline)) void Offer(int64_t first, const float* scores, int count) {
    float threshold = threshold_;
    for (int j = 0; j < count; ++j) {
      if (scores[j] > threshold) threshold = Insert<false>(static_cast<int32_t>(first + j), scores[j]);
    }
    threshold_ = threshold;
  }

  // Offers products first + j for each set bit j of `lanes`, in ascending
  // order; every other product of the range must score at most threshold().
  // Lets a caller that tested a block's scores against the threshold in
  // SIMD skip the lanes that cannot enter.
  inline __attribute__((always_inline)) void OfferLanes(int64_t first, const float* scores, uint64_t lanes) {
    float threshold = threshold_;
    for (; lanes != 0; lanes &= lanes - 1) {
      const int j = std::countr_zero(lanes);
      if (scores[j] > threshold) threshold = Insert<true>(static_cast<int32_t>(first + j), scores[j]);
    }
    threshold_ = threshold;
  }

  // The score a candidate must beat to be kept (-inf until n are kept).
  float threshold() const { return threshold_; }

  // Whether OfferRanked may take a whole catalogue of `count` products.
  bool CanRankAll(int count) const { return size_ == 0 && n_ <= kSortedLimit && count <= kMaxRanked; }

  // Offers products [0, count), the whole catalogue, at once, given each
  // one's rank (how many usable products rank before it; see
  // UsableScores): those ranked under n are the result, in rank order.
  // Branch-free, where offering them one by one (Offer) shifts the sorted
  // list with a data-dependent exit per insertion, which was about half of
  // a query over the 15-product easyMoney catalogue (perf).
  inline __attribute__((always_inline)) void OfferRanked(const float* scores, const float* usable,
                                                         const uint32_t* ranks, int count) {
    int kept = 0;
    for (int j = 0; j < count; ++j) {
      if (usable[j] > -std::numeric_limits<float>::infinity() && ranks[j] < static_cast<uint32_t>(n_)) {
        data_[ranks[j]] = ScoredIndex{static_cast<int32_t>(j), scores[j]};
        ++kept;
      }
    }
    size_ = kept;
    threshold_ = threshold_now();
  }

  // scores[j] where product j may enter (not excluded, and above -inf, which
  // also rules out NaN, as in Offer), else -inf; kMaxRanked entries, the
  // ones from count on -inf.
  inline __attribute__((always_inline)) void UsableScores(const float* scores, int count, float* usable) const {
    for (int j = 0; j < kMaxRanked; ++j) {
      const bool ok = j < count && scores[j] > -std::numeric_limits<float>::infinity() &&
                      (excluded_ == nullptr || excluded_[j] == 0);
      usable[j] = ok ? scores[j] : -std::numeric_limits<float>::infinity();
    }
  }

  void Finish() {
    if (n_ > kSortedLimit) std::sort_heap(data_, data_ + size_, RanksBefore);
    best_.resize(static_cast<size_t>(size_));
  }

 private:
  // Adds a candidate that beats the threshold; returns the new threshold.
  // Inlined so it runs in the vector ISA of the scoring loop around it.
  // kBranchless picks how a sorted list makes room, see below.
  template <bool kBranchless>
  inline __attribute__((always_inline)) float Insert(int32_t index, float score) {
    if (excluded_ != nullptr && excluded_[index] != 0) return threshold_now();
    const ScoredIndex candidate{index, score};
    if (n_ <= kSortedLimit) {
      // Sorted best first; the candidate goes after every entry at least as
      // good (equal scores keep catalogue order).
      if constexpr (kBranchless) {
        // Every kept entry has a lower index, so only scores need comparing,
        // and the shift is a fixed-length loop of selects. Where the
        // candidate lands is data-dependent: the early-exit loop below
        // mispredicts its exit about once per insertion, which dominated
        // the batch path over a 1,000-product catalogue. With a handful of
        // candidates (one query over 15 products) the early exit is cheaper.
        static_assert(sizeof(ScoredIndex) == sizeof(uint64_t));
        const int last = size_ < n_ ? size_++ : n_ - 1;
        ScoredIndex* const data = data_;  // Not reloaded after each store.
        int position = last;
        for (int i = last; i > 0; --i) {
          // Bit operations, not ?:, which GCC turns back into a branch.
          const uint64_t shift = -static_cast<uint64_t>(data[i - 1].score < score);
          uint64_t above, here;
          std::memcpy(&above, &data[i - 1], sizeof(above));
          std::memcpy(&here, &data[i], sizeof(here));
          here = (above & shift) | (here & ~shift);
          std::memcpy(&data[i], &here, sizeof(here));
          position -= static_cast<int>(shift & 1);
        }
        data[position] = candidate;
      } else {
        int position = size_ < n_ ? size_++ : n_ - 1;
        while (position > 0 && RanksBefore(candidate, data_[position - 1])) {
          data_[position] = data_[position - 1];
          --position;
        }
        data_[position] = candidate;
      }
    } else if (size_ < n_) {
      data_[size_++] = candidate;
      std::push_heap(data_, data_ + size_, RanksBefore);
    } else {
      std::pop_heap(data_, data_ + size_, RanksBefore);
      data_[size_ - 1] = candidate;
      std::push_heap(data_, data_ + size_, RanksBefore);
    }
    return threshold_now();
  }

  // The score a candidate must beat: -inf until n are kept, then the worst
  // kept one's.
  inline __attribute__((always_inline)) float threshold_now() const {
    if (size_ < n_) return -std::numeric_limits<float>::infinity();
    return n_ <= kSortedLimit ? data_[n_ - 1].score : data_[0].score;
  }

  TopNList& best_;
  const int n_;
  const uint8_t* const excluded_;
  ScoredIndex* data_ = nullptr;
  int size_ = 0;
  float threshold_ = -std::numeric_limits<float>::infinity();
};

// Adds the bias to the scores of products [first, first + count).
inline __attribute__((always_inline)) void AddBias(const float* bias, int64_t first, int count, float* scores) {
  if (bias == nullptr) return;
  for (int j = 0; j < count; ++j) scores[j] += bias[first + j];
}

// Calls emit(first_product, scores, count) for every group of panels in
// order; count excludes the padding of the last panel.
template <typename V, typename Emit>
inline __attribute__((always_inline)) void ForEachGroup(const PackedFactors& factors, const float* u,
                                                       const float* bias, Emit&& emit) {
  const int cols = factors.cols();
  const int64_t rows = factors.rows();
  const int64_t panels = factors.num_panels();
  float scores[kGroup * kPanelWidth];
  int64_t p = 0;
  for (; p + kGroup <= panels; p += kGroup) {
    ScorePanels<V, kGroup>(factors.panel(p), cols, u, scores);
    const int64_t first = p * kPanelWidth;
    const int count = static_cast<int>(std::min<int64_t>(kGroup * kPanelWidth, rows - first));
    AddBias(bias, first, count, scores);
    emit(first, scores, count);
  }
  for (; p < panels; ++p) {
    ScorePanels<V, 1>(factors.panel(p), cols, u, scores);
    const int64_t first = p * kPanelWidth;
    const int count = static_cast<int>(std::min<int64_t>(kPanelWidth, rows - first));
    AddBias(bias, first, count, scores);
    emit(first, scores, count);
  }
}

template <typename V>
inline __attribute__((always_inline)) void ScoreAllBody(const PackedFactors& factors, const float* u,
                                                        const float* bias, float* out) {
  ForEachGroup<V>(factors, u, bias, [out](int64_t first, const float* scores, int count) {
    std::memcpy(out + first, scores, static_cast<size_t>(count) * sizeof(float));
  });
}

template <typename V>
inline __attribute__((always_inline)) void TopNBody(const PackedFactors& factors, const float* u,
                                                    const float* bias, Selector& selector) {
  // Baseline SSE keeps offering one by one: it has no mask compares, and
  // few machines that run this lack AVX2.
  if constexpr (!std::is_same_v<V, Vec4>) {
    if (factors.num_panels() == 1 && selector.CanRankAll(static_cast<int>(factors.rows()))) {
      const int count = static_cast<int>(factors.rows());
      // The whole catalogue is one panel: score it, then rank it at once.
      float scores[kPanelWidth];
      float usable[kMaxRanked];
      uint32_t ranks[kMaxRanked];
      ScorePanels<V, 1>(factors.panel(0), factors.cols(), u, scores);
      AddBias(bias, 0, count, scores);
      selector.UsableScores(scores, count, usable);
      RankAll(usable, count, ranks, V{});
      selector.OfferRanked(scores, usable, ranks, count);
      return;
    }
  }
  ForEachGroup<V>(factors, u, bias,
                  [&selector](int64_t first, const float* scores, int count) { selector.Offer(first, scores, count); });
}

// Register blocking of the batch path: a block of kCustomers customers x
// kPanels panels is scored with every accumulator in a register, so each
// panel vector loaded feeds kCustomers multiply-adds and each broadcast
// customer factor feeds kPanels * 16 / width of them. (Scoring the batch one
// customer at a time with ScorePanels needs a load per multiply-add and
// reached 12-30% of the FMA peak.) Sizes fill the register file:
// accumulators + one factor's panel vectors + one broadcast, without spills
// (checked in the generated code).
template <typename V>
struct BatchBlocking;
template <>
struct BatchBlocking<Vec16> {  // 32 zmm: 24 accumulators + 4 panel vectors + 1 broadcast.
  static constexpr int kCustomers = 6;
  static constexpr int kPanels = 4;
};
template <>
struct BatchBlocking<Vec8> {  // 16 ymm: 12 accumulators + 2 panel vectors + 1 broadcast.
  static constexpr int kCustomers = 6;
  static constexpr int kPanels = 1;
};
template <>
struct BatchBlocking<Vec4> {  // 16 xmm, no FMA: 12 accumulators + broadcast + panel vector/product.
  static constexpr int kCustomers = 3;
  static constexpr int kPanels = 1;
};

// Per-version primitives of the batch path. They carry their version's
// target attribute because a vector operation written in the generic
// always-inline bodies is first optimised for baseline x86-64, before it is
// inlined into a version: GCC then builds a broadcast lane by lane (16
// masked loads) instead of one vbroadcastss. Not always_inline for the same
// reason (a generic body may not inline a wider target); GCC inlines them
// once the body is inside the matching version.

// All lanes = *from, as one broadcast load. (x - 0 is x for every x, so the
// subtraction folds away; 0 + x would not, as 0 + -0 is +0.)
EASYMONEY_AVX512 inline Vec16 Broadcast(const float* from, Vec16) { return *from - Vec16{}; }
EASYMONEY_AVX2 inline Vec8 Broadcast(const float* from, Vec8) { return *from - Vec8{}; }
inline Vec4 Broadcast(const float* from, Vec4) { return *from - Vec4{}; }

// A bit per lane of `scores` strictly above `threshold` (none for NaN, as in
// Selector::Offer). The selection then visits only those lanes: with top 10
// of a 1,000-product catalogue most 64-product blocks hold a product that
// enters, and scanning all 64 scores in scalar code cost more than scoring
// them.
EASYMONEY_AVX512 inline unsigned LanesAbove(Vec16 scores, float threshold) {
  return _mm512_cmp_ps_mask(scores, _mm512_set1_ps(threshold), _CMP_GT_OQ);
}
EASYMONEY_AVX2 inline unsigned LanesAbove(Vec8 scores, float threshold) {
  return static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(scores, _mm256_set1_ps(threshold), _CMP_GT_OQ)));
}
inline unsigned LanesAbove(Vec4 scores, float threshold) {
  return static_cast<unsigned>(_mm_movemask_ps(_mm_cmpgt_ps(scores, _mm_set1_ps(threshold))));
}

// Scores panels [panel, panel + kPanels) for the kCustomers customers whose
// factor rows start at `users` and offers the scores to their selectors.
// Each accumulator sums factors 0..F-1 in order with the same multiply-add
// as ScorePanels, so a customer's scores are bit-identical to TopNScores'.
template <typename V, int kCustomers, int kPanels>
inline __attribute__((always_inline)) void ScoreBlock(const PackedFactors& factors, int64_t panel, const float* users,
                                                      const float* bias, Selector* selectors) {
  constexpr int kWidth = static_cast<int>(sizeof(V) / sizeof(float));
  constexpr int kPerPanel = kPanelWidth / kWidth;
  constexpr int kVectors = kPanels * kPerPanel;
  const int cols = factors.cols();
  const float* panels = factors.panel(panel);
  const int64_t panel_stride = static_cast<int64_t>(cols) * kPanelWidth;
  V acc[kCustomers][kVectors];
#pragma GCC unroll 32
  for (int c = 0; c < kCustomers; ++c) {
#pragma GCC unroll 32
    for (int v = 0; v < kVectors; ++v) acc[c][v] = V{};
  }
  for (int f = 0; f < cols; ++f) {
    V column[kVectors];
#pragma GCC unroll 32
    for (int g = 0; g < kPanels; ++g) {
#pragma GCC unroll 32
      for (int k = 0; k < kPerPanel; ++k) {
        column[g * kPerPanel + k] = LoadVec<V>(panels + g * panel_stride + f * kPanelWidth + k * kWidth);
      }
    }
#pragma GCC unroll 32
    for (int c = 0; c < kCustomers; ++c) {
      const V uf = Broadcast(users + static_cast<int64_t>(c) * cols + f, V{});
#pragma GCC unroll 32
      for (int v = 0; v < kVectors; ++v) acc[c][v] += column[v] * uf;
    }
  }
  const int64_t first = panel * kPanelWidth;
  const int64_t rows = factors.rows();
  // Whole blocks add the bias and test the thresholds in registers; the
  // catalogue's last block, where the bias array ends and padding lanes are
  // not products, goes through the scalar path.
  const bool whole = first + kVectors * kWidth <= rows;
  const int count = whole ? kVectors * kWidth : static_cast<int>(rows - first);
  if (whole && bias != nullptr) {
    V block_bias[kVectors];
#pragma GCC unroll 32
    for (int v = 0; v < kVectors; ++v) block_bias[v] = LoadVec<V>(bias + first + v * kWidth);
#pragma GCC unroll 32
    for (int c = 0; c < kCustomers; ++c) {
#pragma GCC unroll 32
      for (int v = 0; v < kVectors; ++v) acc[c][v] += block_bias[v];
    }
  }
  static_assert(kVectors * kWidth <= 64, "one bit per product of a block in a uint64_t");
  float scores[kCustomers][kVectors * kWidth];
  uint64_t lanes[kCustomers];  // Bit j: product first + j may enter.
#pragma GCC unroll 32
  for (int c = 0; c < kCustomers; ++c) {
    std::memcpy(scores[c], acc[c], sizeof(scores[c]));
    const float threshold = selectors[c].threshold();
    lanes[c] = 0;
#pragma GCC unroll 32
    for (int v = 0; v < kVectors; ++v) {
      lanes[c] |= static_cast<uint64_t>(LanesAbove(acc[c][v], threshold)) << (v * kWidth);
    }
  }
  // Not unrolled: one copy of the selection code per block shape is enough.
  for (int c = 0; c < kCustomers; ++c) {
    if (whole) {
      selectors[c].OfferLanes(first, scores[c], lanes[c]);
    } else {
      AddBias(bias, first, count, scores[c]);
      selectors[c].Offer(first, scores[c], count);
    }
  }
}

// ScoreBlock for the `customers` (1 .. kCustomers) customers at `users`,
// with a block sized for exactly that many.
template <typename V, int kPanels, int kCustomers = BatchBlocking<V>::kCustomers>
inline __attribute__((always_inline)) void ScoreCustomers(const PackedFactors& factors, int64_t panel, int customers,
                                                          const float* users, const float* bias,
                                                          Selector* selectors) {
  if constexpr (kCustomers > 1) {
    if (customers < kCustomers) {
      return ScoreCustomers<V, kPanels, kCustomers - 1>(factors, panel, customers, users, bias, selectors);
    }
  }
  ScoreBlock<V, kCustomers, kPanels>(factors, panel, users, bias, selectors);
}

template <typename V>
inline __attribute__((always_inline)) void TopNBatchBody(const PackedFactors& factors, const float* users,
                                                         int batch, const float* bias, Selector* selectors) {
  constexpr int kCustomers = BatchBlocking<V>::kCustomers;
  constexpr int kPanels = BatchBlocking<V>::kPanels;
  const int cols = factors.cols();
  const int64_t panels = factors.num_panels();
  // A block's panels (at most 4 x 16 products x 128 factors = 32 KiB) stay
  // in L1 while every customer of the batch scores them; each customer sees
  // the catalogue in ascending order, as its Selector requires.
  int64_t p = 0;
  for (; p + kPanels <= panels; p += kPanels) {
    for (int b = 0; b < batch; b += kCustomers) {
      ScoreCustomers<V, kPanels>(factors, p, std::min(kCustomers, batch - b), users + static_cast<int64_t>(b) * cols,
                                 bias, selectors + b);
    }
  }
  for (; p < panels; ++p) {
    for (int b = 0; b < batch; b += kCustomers) {
      ScoreCustomers<V, 1>(factors, p, std::min(kCustomers, batch - b), users + static_cast<int64_t>(b) * cols, bias,
                           selectors + b);
    }
  }
}

EASYMONEY_DISPATCH(ScoreAllImpl, ScoreAllBody,
                   (const PackedFactors& factors, const float* u, const float* bias, float* out),
                   (factors, u, bias, out))
EASYMONEY_DISPATCH(TopNImpl, TopNBody,
                   (const PackedFactors& factors, const float* u, const float* bias, Selector& selector),
                   (factors, u, bias, selector))
EASYMONEY_DISPATCH(TopNBatchImpl, TopNBatchBody,
                   (const PackedFactors& factors, const float* users, int batch, const float* bias,
                    Selector* selectors),
                   (factors, users, batch, bias, selectors))

}  // namespace

PackedFactors::PackedFactors(const RowMajorMatrix& rows)
    : rows_(rows.rows()), cols_(static_cast<int>(rows.cols())) {
  data_.assign(static_cast<size_t>(num_panels() * cols_ * kPanelWidth), 0.0f);
  for (int64_t r = 0; r < rows_; ++r) {
    float* panel = data_.data() + (r / kPanelWidth) * cols_ * kPanelWidth + r % kPanelWidth;
    for (int f = 0; f < cols_; ++f) panel[static_cast<int64_t>(f) * kPanelWidth] = rows(r, f);
  }
}

std::vector<float> ProductScoreBias(std::span<const float> popularity, float weight) {
  std::vector<float> bias;
  if (weight == 0) return bias;
  bias.reserve(popularity.size());
  for (float value : popularity) bias.push_back(weight * value);
  return bias;
}

void SelectTopNInto(std::span<const float> scores, std::span<const uint8_t> excluded, int num_results,
                    TopNList& out) {
  Selector selector(out, num_results, excluded.empty() ? nullptr : excluded.data());
  if (num_results > 0) selector.Offer(0, scores.data(), static_cast<int>(scores.size()));
  selector.Finish();
}

void ScoreAll(const PackedFactors& product_factors, std::span<const float> customer_factors,
              std::span<const float> bias, std::span<float> scores) {
  ScoreAllImpl(product_factors, customer_factors.data(), bias.empty() ? nullptr : bias.data(), scores.data());
}

void TopNScores(const PackedFactors& product_factors, std::span<const float> customer_factors,
                std::span<const float> bias, std::span<const uint8_t> excluded, int num_results, TopNList& out) {
  Selector selector(out, num_results, excluded.empty() ? nullptr : excluded.data());
  if (num_results > 0) {
    TopNImpl(product_factors, customer_factors.data(), bias.empty() ? nullptr : bias.data(), selector);
  }
  selector.Finish();
}

void TopNScoresBatch(const PackedFactors& product_factors, std::span<const float> batch_customer_factors,
                     std::span<const float> bias, int num_results, std::span<TopNList> out) {
  const int batch = static_cast<int>(out.size());
  absl::InlinedVector<Selector, 64> selectors;
  selectors.reserve(out.size());
  for (TopNList& list : out) selectors.emplace_back(list, num_results, nullptr);
  if (num_results > 0 && batch > 0) {
    TopNBatchImpl(product_factors, batch_customer_factors.data(), batch, bias.empty() ? nullptr : bias.data(),
                  selectors.data());
  }
  for (Selector& selector : selectors) selector.Finish();
}

}  // namespace easymoney
