#include "core/training/batch_recommendations.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/util/progress.h"
#include "core/model/recommender.h"
#include "core/model/top_n.h"

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
  std::string buffer = "customer_id,rank,product_id,score,strategy\n";
  int64_t rows = 0;
  bool write_failed = false;
  ProgressLine progress("batch recommendations (customers)", model.num_customers());
  for (int64_t row = 0; row < model.num_customers(); ++row) {
    // Through Recommend itself, so the file holds exactly what the server
    // would answer (exclusions, popularity prior, product rules).
    const std::string customer_id = std::to_string(model.customer_ids()[row]);
    RecommendationQuery query;
    query.customer_id = customer_id;
    query.num_results = num_results;
    absl::StatusOr<Recommendation> result = Recommend(model, query);
    if (!result.ok()) {
      std::fclose(file);
      std::remove(partial.c_str());
      return result.status();
    }
    const char* strategy_name = result->strategy == Strategy::kPersonalised ? "personalised" : "popular";
    int rank = 0;
    for (const ScoredIndex& s : result->products) {
      absl::StrAppendFormat(&buffer, "%s,%d,%s,%.6g,%s\n", customer_id, ++rank, model.product(s.index).id(), s.score,
                            strategy_name);
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
