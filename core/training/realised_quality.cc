#include "core/training/realised_quality.h"

#include <limits>
#include <string>

#include "absl/strings/str_cat.h"
#include "core/model/recommender.h"
#include "core/training/eligibility.h"

namespace easymoney {

absl::StatusOr<RealisedQuality> MeasureRealisedQuality(const EasyMoneyTables& tables, int partition,
                                                       std::span<const Model* const> models, int k) {
  if (partition < 1 || partition > tables.newest_partition) {
    return absl::FailedPreconditionError(absl::StrCat("partition ", partition,
                                                      " has no month before it in the tables (newest ",
                                                      tables.newest_partition, ")"));
  }
  // Model catalogue index of each kProducts entry.
  std::vector<std::vector<int>> catalogue_index(models.size(), std::vector<int>(kNumProducts, -1));
  for (size_t m = 0; m < models.size(); ++m) {
    for (int p = 0; p < kNumProducts; ++p) {
      const auto index = models[m]->FindProduct(kProducts[p].id);
      if (!index.has_value()) {
        return absl::InvalidArgumentError(absl::StrCat("version ", models[m]->version(), " has no product ",
                                                       kProducts[p].id, ": not an easyMoney model"));
      }
      catalogue_index[m][p] = *index;
    }
  }
  const int previous = partition - 1;
  const uint16_t never_mask = NeverRecommendMask(tables.quality);
  const uint16_t adult_only = AdultOnlyMask();

  // The popularity baseline: acquisition rates of the month before.
  std::vector<float> popularity(kNumProducts, 0.0f);
  int64_t base = 0;
  for (size_t row = 0; row < tables.num_customers(); ++row) {
    if (!tables.at(previous, row).present) continue;
    ++base;
    const uint16_t acquired = previous > 0 && tables.at(previous - 1, row).present ? Acquired(tables, previous, row) : 0;
    for (int p = 0; p < kNumProducts; ++p) popularity[p] += static_cast<float>((acquired >> p) & 1u);
  }
  for (float& rate : popularity) rate = base == 0 ? 0.0f : rate / static_cast<float>(base);

  std::vector<RankingEvaluator> evaluators(models.size(), RankingEvaluator(k, kNumProducts));
  RankingEvaluator popular(k, kNumProducts);
  std::vector<float> scores(kNumProducts);
  std::vector<uint8_t> excluded(kNumProducts);
  std::vector<int32_t> relevant;
  std::vector<absl::string_view> held_ids;
  for (size_t row = 0; row < tables.num_customers(); ++row) {
    const CustomerMonth& before = tables.at(previous, row);
    const CustomerMonth& now = tables.at(partition, row);
    if (!before.present || !now.present || before.deceased) continue;
    const uint16_t ineligible = before.age < kAdultAge ? adult_only : 0;
    relevant.clear();
    held_ids.clear();
    for (int p = 0; p < kNumProducts; ++p) {
      excluded[p] = static_cast<uint8_t>(((before.holdings | never_mask | ineligible) >> p) & 1u);
      if (((now.holdings & ~before.holdings & ~never_mask) >> p) & 1u) relevant.push_back(p);
      if ((before.holdings >> p) & 1u) held_ids.push_back(kProducts[p].id);
    }
    popular.Add(popularity, excluded, relevant);

    const std::string customer_id = absl::StrCat(tables.customer_ids[row]);
    ProfileInput profile;
    if (before.age >= 0) profile.age = before.age;
    for (size_t m = 0; m < models.size(); ++m) {
      RecommendationQuery query;
      query.customer_id = customer_id;
      query.num_results = k;
      query.current_holdings = held_ids;
      query.profile = profile;
      absl::StatusOr<Recommendation> answer = Recommend(*models[m], query);
      if (!answer.ok()) return answer.status();
      // The answer as scores the evaluator ranks back in the same order:
      // only what was answered is a candidate.
      std::fill(scores.begin(), scores.end(), 0.0f);
      std::vector<uint8_t> answered(kNumProducts, 1);
      float score = static_cast<float>(answer->products.size());
      for (const auto& scored : answer->products) {
        for (int p = 0; p < kNumProducts; ++p) {
          if (catalogue_index[m][p] != scored.index) continue;
          scores[p] = score;
          answered[p] = 0;
        }
        score -= 1.0f;
      }
      evaluators[m].Add(scores, answered, relevant);
    }
  }
  RealisedQuality quality;
  quality.partition = partition;
  for (const RankingEvaluator& evaluator : evaluators) quality.models.push_back(evaluator.Result());
  quality.popularity = popular.Result();
  return quality;
}

}  // namespace easymoney
