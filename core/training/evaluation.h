#ifndef EASYMONEY_CORE_TRAINING_EVALUATION_H_
#define EASYMONEY_CORE_TRAINING_EVALUATION_H_

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace easymoney {

// Top-k ranking metrics averaged over the customers evaluated.
struct RankingMetrics {
  int k = 0;
  int64_t customers = 0;  // Customers evaluated.
  int64_t relevant_customers = 0;  // Of those, with at least one relevant product.
  // Mean over all customers of AP@k = sum_{i<=k} P@i * rel(i) / min(|rel|, k),
  // with AP = 0 for customers without relevant products (the Kaggle
  // Santander / easyMoney MAP@7 convention).
  double map = 0;
  // The same mean over relevant_customers only.
  double map_relevant = 0;
  // Mean AP with |rel| as the normaliser, over relevant customers (the
  // Microsoft Recommenders convention that MovieLens figures use).
  double map_full_normaliser = 0;
  // Means over relevant customers.
  double precision = 0;  // hits / k
  double recall = 0;     // hits / |rel|
  double ndcg = 0;       // binary-gain nDCG@k
  double hit_rate = 0;   // share with at least one hit
  // Share of the catalogue recommended to at least one customer (all
  // customers, relevant or not).
  double coverage = 0;
};

// Accumulates ranking metrics one customer at a time.
//
//   RankingEvaluator evaluator(/*k=*/7, num_products);
//   for (each customer) evaluator.Add(scores, held_mask, acquired_products);
//   RankingMetrics metrics = evaluator.Result();
//
// Ranking uses SelectTopN (ties by lower product index), the same code the
// server answers with. Thread-compatible.
class RankingEvaluator {
 public:
  RankingEvaluator(int k, int num_products);

  // One customer: `scores` per product, `excluded` (empty, or one byte per
  // product: 1 = not a candidate, e.g. already held) and the `relevant`
  // products (e.g. acquired in the test month; need not be sorted).
  void Add(std::span<const float> scores, std::span<const uint8_t> excluded,
           std::span<const int32_t> relevant);
  // Adds one customer's ranked list as it was served (best first, k or
  // fewer entries), e.g. a server's answer. Indices outside the catalogue
  // count as misses and not towards coverage.
  void AddRanked(std::span<const int32_t> ranked, std::span<const int32_t> relevant);
  // Adds another evaluator's customers (same k and catalogue).
  void Merge(const RankingEvaluator& other);

  RankingMetrics Result() const;

 private:
  int k_;
  int64_t customers_ = 0;
  int64_t relevant_customers_ = 0;
  double ap_sum_ = 0;
  double ap_full_sum_ = 0;
  double precision_sum_ = 0;
  double recall_sum_ = 0;
  double ndcg_sum_ = 0;
  int64_t hits_ = 0;
  std::vector<uint8_t> recommended_;
};

}  // namespace easymoney

#endif  // EASYMONEY_CORE_TRAINING_EVALUATION_H_
