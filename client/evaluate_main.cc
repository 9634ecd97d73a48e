// recommender-evaluate: scores the model a running recommender-server serves
// against held-out interactions, through the server's own API, so published
// quality figures are what a caller gets (docs/evaluation-movielens.md).
#include <algorithm>
#include <cstdio>
#include <limits>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/flags/flag.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "client/recommender_client.h"
#include "client/security_flags.h"
#include "core/training/evaluation.h"
#include "core/training/interactions.h"
#include "core/util/progress.h"
#include "core/util/tool_flags.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "The server's gRPC address.");
ABSL_FLAG(std::string, heldout, "",
          "Held-out interactions, customer_id,product_id CSV (recommender-train --evaluation-model-base writes "
          "DIR/test_interactions.csv).");
ABSL_FLAG(int, k, 10, "Length of the requested lists and cut-off of the metrics.");
ABSL_FLAG(int, batch, 250, "Customers per RecommendProductsBatch call (the server takes at most 500).");
ABSL_FLAG(std::string, fold_in_from, "",
          "Also score the fold-in path: each customer is asked for under an id the model does not know (its id + "
          "10^15) with its products in this file (DIR/train_interactions.csv) as current holdings, so the server "
          "computes its factors from them at request time.");
ABSL_FLAG(int64_t, expect_version, 0, "Fail unless every answer comes from this model version (0: any).");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(30), "Deadline per batch call.");

namespace {

namespace v1 = easymoney::recommender::v1;

constexpr char kUsage[] =
    "Scores a served model against held-out interactions through the server's API.\n"
    "Usage:\n"
    "  recommender-evaluate --heldout DIR/test_interactions.csv [--target HOST:PORT] [--k 10]\n"
    "                       [--fold-in-from DIR/train_interactions.csv] [--expect-version V]\n"
    "      Asks RecommendProductsBatch for the top k of every customer in the file (the\n"
    "      server excludes what the version saw the customer hold) and prints MAP (each\n"
    "      AP divided by the customer's held-out count), nDCG@k, precision@k, recall@k\n"
    "      and hit rate, as recommender-train reports them. With --fold-in-from, the same\n"
    "      for factors folded in from current holdings. TLS and token flags as\n"
    "      recommender-cli's. Progress on stderr, figures on stdout; exit 1 on an\n"
    "      error answer or another version than --expect-version.";

constexpr int64_t kUnknownIdOffset = 1'000'000'000'000'000;

struct Outcome {
  easymoney::RankingMetrics metrics;
  std::map<std::string, int64_t> strategies;
  std::map<int64_t, int64_t> versions;
};

absl::StatusOr<Outcome> Score(const easymoney::RecommenderClient& client, const easymoney::Interactions& heldout,
                              const easymoney::Interactions* holdings, const char* label) {
  const int k = absl::GetFlag(FLAGS_k);
  const int batch_size = absl::GetFlag(FLAGS_batch);
  absl::flat_hash_map<std::string, int32_t> index;
  for (int i = 0; i < heldout.num_products(); ++i) index[heldout.product_ids[static_cast<size_t>(i)]] = i;
  absl::flat_hash_map<int64_t, int64_t> holdings_row;
  if (holdings != nullptr) {
    for (int64_t row = 0; row < holdings->num_customers(); ++row) holdings_row[holdings->customer_ids[row]] = row;
  }
  easymoney::RankingEvaluator evaluator(k, heldout.num_products());
  Outcome outcome;
  easymoney::ProgressLine progress(label, heldout.num_customers());
  std::vector<int32_t> ranked;
  for (int64_t begin = 0; begin < heldout.num_customers(); begin += batch_size) {
    const int64_t end = std::min<int64_t>(heldout.num_customers(), begin + batch_size);
    v1::RecommendProductsBatchRequest request;
    for (int64_t row = begin; row < end; ++row) {
      v1::RecommendProductsRequest* one = request.add_requests();
      one->set_num_results(k);
      const int64_t id = heldout.customer_ids[row];
      if (holdings == nullptr) {
        one->set_customer_id(absl::StrCat(id));
        continue;
      }
      if (id > std::numeric_limits<int64_t>::max() - kUnknownIdOffset) {
        return absl::InvalidArgumentError(absl::StrCat("customer ", id, " is too large to be asked for under an ",
                                                       "unknown id (id + 10^15) for --fold-in-from"));
      }
      one->set_customer_id(absl::StrCat(id + kUnknownIdOffset));
      auto* current = one->mutable_current_holdings();
      const auto it = holdings_row.find(id);
      if (it == holdings_row.end()) continue;  // Holds nothing: popularity.
      for (int64_t j = holdings->indptr[it->second]; j < holdings->indptr[it->second + 1]; ++j) {
        current->add_product_ids(holdings->product_ids[static_cast<size_t>(holdings->products[j])]);
      }
    }
    auto response = client.RecommendBatch(request);
    if (!response.ok()) return response.status();
    if (response->results_size() != end - begin) {
      return absl::InternalError(absl::StrCat("asked for ", end - begin, " customers, got ", response->results_size(),
                                              " answers"));
    }
    for (int64_t row = begin; row < end; ++row) {
      const v1::BatchResult& result = response->results(static_cast<int>(row - begin));
      if (result.code() != 0) {
        return absl::InternalError(absl::StrCat("customer ", heldout.customer_ids[row], ": code ", result.code(),
                                                ": ", result.message()));
      }
      ranked.clear();
      for (const v1::RecommendedProduct& product : result.response().products()) {
        const auto it = index.find(product.product_id());
        ranked.push_back(it == index.end() ? -1 : it->second);  // Never held out: a miss.
      }
      ++outcome.strategies[v1::Strategy_Name(result.response().strategy())];
      ++outcome.versions[result.response().model_version()];
      const auto relevant = std::span<const int32_t>(heldout.products)
                                .subspan(static_cast<size_t>(heldout.indptr[row]),
                                         static_cast<size_t>(heldout.indptr[row + 1] - heldout.indptr[row]));
      evaluator.AddRanked(ranked, relevant);
    }
    progress.Update(end);
  }
  progress.Finish();
  outcome.metrics = evaluator.Result();
  return outcome;
}

void Print(const char* path, const Outcome& outcome) {
  const easymoney::RankingMetrics& m = outcome.metrics;
  std::printf("%-10s customers %lld  MAP %.4f  nDCG@%d %.4f  P@%d %.4f  R@%d %.4f  hit %.4f\n", path,
              static_cast<long long>(m.relevant_customers), m.map_full_normaliser, m.k, m.ndcg, m.k, m.precision,
              m.k, m.recall, m.hit_rate);
  std::string strategies;
  for (const auto& [name, count] : outcome.strategies) absl::StrAppend(&strategies, " ", name, "=", count);
  std::string versions;
  for (const auto& [version, count] : outcome.versions) absl::StrAppend(&versions, " ", version, "=", count);
  std::printf("%-10s strategies:%s; model versions:%s\n", "", strategies.c_str(), versions.c_str());
}

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "recommender-evaluate: %s: %s\n", absl::StatusCodeToString(status.code()).c_str(),
               std::string(status.message()).c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args = easymoney::ParseToolFlags(argc, argv, kUsage);
  if (!args.empty() || absl::GetFlag(FLAGS_heldout).empty() || absl::GetFlag(FLAGS_k) < 1 ||
      absl::GetFlag(FLAGS_batch) < 1 || absl::GetFlag(FLAGS_batch) > 500) {
    std::fprintf(stderr, "recommender-evaluate: needs --heldout FILE, --k >= 1, --batch in 1..500 (see --help)\n");
    return 2;
  }
  auto security = easymoney::ChannelSecurityFromFlags();
  if (!security.ok()) return Fail(security.status());
  easymoney::RecommenderClient::Options options;
  options.target = absl::GetFlag(FLAGS_target);
  options.timeout = absl::GetFlag(FLAGS_timeout);
  options.security = *std::move(security);
  auto client = easymoney::RecommenderClient::Create(options);
  if (!client.ok()) return Fail(client.status());
  auto heldout = easymoney::ReadInteractions(absl::GetFlag(FLAGS_heldout));
  if (!heldout.ok()) return Fail(heldout.status());

  std::vector<std::pair<const char*, Outcome>> outcomes;
  auto served = Score(**client, *heldout, nullptr, "scoring through the server");
  if (!served.ok()) return Fail(served.status());
  outcomes.emplace_back("served", *std::move(served));
  if (const std::string path = absl::GetFlag(FLAGS_fold_in_from); !path.empty()) {
    auto holdings = easymoney::ReadInteractions(path);
    if (!holdings.ok()) return Fail(holdings.status());
    auto folded = Score(**client, *heldout, &*holdings, "scoring fold-in through the server");
    if (!folded.ok()) return Fail(folded.status());
    outcomes.emplace_back("fold-in", *std::move(folded));
  }
  std::printf("%s, top %d, MAP divides each AP by the held-out count\n", absl::GetFlag(FLAGS_heldout).c_str(),
              absl::GetFlag(FLAGS_k));
  int status = 0;
  for (const auto& [path, outcome] : outcomes) {
    Print(path, outcome);
    const int64_t expected = absl::GetFlag(FLAGS_expect_version);
    if (expected > 0 && (outcome.versions.size() != 1 || outcome.versions.begin()->first != expected)) {
      std::fprintf(stderr, "recommender-evaluate: %s answers did not all come from version %lld\n", path,
                   static_cast<long long>(expected));
      status = 1;
    }
  }
  return status;
}
