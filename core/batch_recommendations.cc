#include "core/batch_recommendations.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/progress.h"
#include "core/recommender.h"
#include "core/top_n.h"

namespace easymoney {

absl::StatusOr<int64_t> WriteBatchRecommendations(const Model& model, int num_results, const std::string& path) {
  if (num_results < 1 || num_results > model.num_products()) {
    return absl::InvalidArgumentError(
        absl::StrCat("num_results ", num_results, " is outside [1, ", model.num_products(), "]"));
  }
  const std::string partial = path + ".partial";
  std::FILE* file = std::fopen(partial.c_str(), "wb");
  if (file == nullptr) {
    return absl::InternalError(absl::StrCat("cannot create ", partial, ": ", std::strerror(errno)));
  }
  const int num_products = model.num_products();
  std::vector<uint8_t> never(static_cast<size_t>(num_products), 0);
  for (int p = 0; p < num_products; ++p) never[p] = model.product(p).never_recommend() ? 1 : 0;
  std::vector<float> scores(static_cast<size_t>(num_products));
  std::vector<uint8_t> excluded(static_cast<size_t>(num_products));
  std::string buffer = "customer_id,rank,product_id,score,strategy\n";
  int64_t rows = 0;
  bool write_failed = false;
  ProgressLine progress("batch recommendations (customers)", model.num_customers());
  for (int64_t row = 0; row < model.num_customers(); ++row) {
    excluded = never;
    for (int32_t p : model.customer_holdings(row)) excluded[p] = 1;
    const Strategy strategy = ScoreProducts(model.arrays().product_factors, model.customer_factors(row),
                                            model.arrays().product_popularity, model.popularity_weight(), scores);
    const char* strategy_name = strategy == Strategy::kPersonalised ? "personalised" : "popular";
    int rank = 0;
    for (const ScoredIndex& s : SelectTopN(scores, excluded, num_results)) {
      absl::StrAppendFormat(&buffer, "%d,%d,%s,%.6g,%s\n", model.arrays().customer_ids[row], ++rank,
                            model.product(s.index).id(), s.score, strategy_name);
      ++rows;
    }
    if (buffer.size() > (1 << 20)) {
      write_failed |= std::fwrite(buffer.data(), 1, buffer.size(), file) != buffer.size();
      buffer.clear();
      progress.Update(row + 1);
    }
  }
  write_failed |= std::fwrite(buffer.data(), 1, buffer.size(), file) != buffer.size();
  progress.Update(model.num_customers());
  write_failed |= std::fclose(file) != 0;
  if (write_failed || std::rename(partial.c_str(), path.c_str()) != 0) {
    const std::string reason = std::strerror(errno);
    std::remove(partial.c_str());
    return absl::InternalError(absl::StrCat("writing ", path, " failed: ", reason));
  }
  return rows;
}

}  // namespace easymoney
