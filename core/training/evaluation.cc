#include "core/training/evaluation.h"

#include <algorithm>
#include <cmath>

#include "core/model/top_n.h"

namespace easymoney {

RankingEvaluator::RankingEvaluator(int k, int num_products)
    : k_(k), recommended_(static_cast<size_t>(num_products), 0) {}

void RankingEvaluator::Add(std::span<const float> scores, std::span<const uint8_t> excluded,
                           std::span<const int32_t> relevant) {
  const std::vector<ScoredIndex> top = SelectTopN(scores, excluded, k_);
  std::vector<int32_t> ranked;
  ranked.reserve(top.size());
  for (const ScoredIndex& s : top) ranked.push_back(s.index);
  AddRanked(ranked, relevant);
}

void RankingEvaluator::AddRanked(std::span<const int32_t> ranked_in, std::span<const int32_t> relevant) {
  const std::span<const int32_t> top = ranked_in.first(std::min(ranked_in.size(), static_cast<size_t>(k_)));
  ++customers_;
  for (int32_t index : top) {
    if (index >= 0 && static_cast<size_t>(index) < recommended_.size()) recommended_[static_cast<size_t>(index)] = 1;
  }
  if (relevant.empty()) return;
  ++relevant_customers_;
  int hits = 0;
  double precision_sum = 0;
  double dcg = 0;
  for (size_t i = 0; i < top.size(); ++i) {
    if (std::find(relevant.begin(), relevant.end(), top[i]) == relevant.end()) continue;
    ++hits;
    precision_sum += static_cast<double>(hits) / static_cast<double>(i + 1);
    dcg += 1.0 / std::log2(static_cast<double>(i) + 2.0);
  }
  double ideal = 0;
  const size_t ideal_hits = std::min(relevant.size(), static_cast<size_t>(k_));
  for (size_t i = 0; i < ideal_hits; ++i) ideal += 1.0 / std::log2(static_cast<double>(i) + 2.0);
  ap_sum_ += precision_sum / static_cast<double>(ideal_hits);
  ap_full_sum_ += precision_sum / static_cast<double>(relevant.size());
  precision_sum_ += static_cast<double>(hits) / k_;
  recall_sum_ += static_cast<double>(hits) / static_cast<double>(relevant.size());
  ndcg_sum_ += dcg / ideal;
  if (hits > 0) ++hits_;
}

void RankingEvaluator::Merge(const RankingEvaluator& other) {
  customers_ += other.customers_;
  relevant_customers_ += other.relevant_customers_;
  ap_sum_ += other.ap_sum_;
  ap_full_sum_ += other.ap_full_sum_;
  precision_sum_ += other.precision_sum_;
  recall_sum_ += other.recall_sum_;
  ndcg_sum_ += other.ndcg_sum_;
  hits_ += other.hits_;
  for (size_t i = 0; i < recommended_.size() && i < other.recommended_.size(); ++i) {
    recommended_[i] = static_cast<uint8_t>(recommended_[i] | other.recommended_[i]);
  }
}

RankingMetrics RankingEvaluator::Result() const {
  RankingMetrics m;
  m.k = k_;
  m.customers = customers_;
  m.relevant_customers = relevant_customers_;
  const double all = std::max<int64_t>(1, customers_);
  const double relevant = std::max<int64_t>(1, relevant_customers_);
  m.map = ap_sum_ / all;
  m.map_relevant = ap_sum_ / relevant;
  m.map_full_normaliser = ap_full_sum_ / relevant;
  m.precision = precision_sum_ / relevant;
  m.recall = recall_sum_ / relevant;
  m.ndcg = ndcg_sum_ / relevant;
  m.hit_rate = static_cast<double>(hits_) / relevant;
  m.coverage = recommended_.empty()
                   ? 0
                   : static_cast<double>(std::count(recommended_.begin(), recommended_.end(), 1)) /
                         static_cast<double>(recommended_.size());
  return m;
}

}  // namespace easymoney
