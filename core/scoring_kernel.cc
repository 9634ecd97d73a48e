#include "core/scoring_kernel.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>

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
      if (scores[j] > threshold) threshold = Insert(static_cast<int32_t>(first + j), scores[j]);
    }
    threshold_ = threshold;
  }

  void Finish() {
    if (n_ > kSortedLimit) std::sort_heap(data_, data_ + size_, RanksBefore);
    best_.resize(static_cast<size_t>(size_));
  }

 private:
  // Adds a candidate that beats the threshold; returns the new threshold.
  // Inlined so it runs in the vector ISA of the scoring loop around it.
  inline __attribute__((always_inline)) float Insert(int32_t index, float score) {
    if (excluded_ != nullptr && excluded_[index] != 0) return threshold_now();
    const ScoredIndex candidate{index, score};
    if (n_ <= kSortedLimit) {
      // Sorted best first; the candidate goes after every entry at least as
      // good (equal scores keep catalogue order).
      int position = size_ < n_ ? size_++ : n_ - 1;
      while (position > 0 && RanksBefore(candidate, data_[position - 1])) {
        data_[position] = data_[position - 1];
        --position;
      }
      data_[position] = candidate;
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
  ForEachGroup<V>(factors, u, bias,
                  [&selector](int64_t first, const float* scores, int count) { selector.Offer(first, scores, count); });
}

template <typename V>
inline __attribute__((always_inline)) void TopNBatchBody(const PackedFactors& factors, const float* users,
                                                         int batch, const float* bias, Selector* selectors) {
  const int cols = factors.cols();
  const int64_t rows = factors.rows();
  const int64_t panels = factors.num_panels();
  float scores[kGroup * kPanelWidth];
  // One group of panels (at most 64 products x 128 factors = 32 KiB) is
  // read from memory once and stays in L1 while every customer of the
  // batch scores it.
  for (int64_t p = 0; p < panels; p += kGroup) {
    const int in_group = static_cast<int>(std::min<int64_t>(kGroup, panels - p));
    const int64_t first = p * kPanelWidth;
    const int count = static_cast<int>(std::min<int64_t>(in_group * kPanelWidth, rows - first));
    for (int b = 0; b < batch; ++b) {
      const float* u = users + static_cast<int64_t>(b) * cols;
      if (in_group == kGroup) {
        ScorePanels<V, kGroup>(factors.panel(p), cols, u, scores);
      } else {
        for (int g = 0; g < in_group; ++g) ScorePanels<V, 1>(factors.panel(p + g), cols, u, scores + g * kPanelWidth);
      }
      AddBias(bias, first, count, scores);
      selectors[b].Offer(first, scores, count);
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

void SelectTopNInto(std::span<const float> scores, std::span<const uint8_t> excluded, int n, TopNList& out) {
  Selector selector(out, n, excluded.empty() ? nullptr : excluded.data());
  if (n > 0) selector.Offer(0, scores.data(), static_cast<int>(scores.size()));
  selector.Finish();
}

void ScoreAll(const PackedFactors& factors, std::span<const float> u, std::span<const float> bias,
              std::span<float> scores) {
  ScoreAllImpl(factors, u.data(), bias.empty() ? nullptr : bias.data(), scores.data());
}

void TopNScores(const PackedFactors& factors, std::span<const float> u, std::span<const float> bias,
                std::span<const uint8_t> excluded, int n, TopNList& out) {
  Selector selector(out, n, excluded.empty() ? nullptr : excluded.data());
  if (n > 0) TopNImpl(factors, u.data(), bias.empty() ? nullptr : bias.data(), selector);
  selector.Finish();
}

void TopNScoresBatch(const PackedFactors& factors, std::span<const float> users, std::span<const float> bias,
                     int n, std::span<TopNList> out) {
  const int batch = static_cast<int>(out.size());
  absl::InlinedVector<Selector, 64> selectors;
  selectors.reserve(out.size());
  for (TopNList& list : out) selectors.emplace_back(list, n, nullptr);
  if (n > 0 && batch > 0) TopNBatchImpl(factors, users.data(), batch, bias.empty() ? nullptr : bias.data(), selectors.data());
  for (Selector& selector : selectors) selector.Finish();
}

}  // namespace easymoney
