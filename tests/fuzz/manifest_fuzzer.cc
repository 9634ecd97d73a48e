// libFuzzer target: manifest.json (core/model/manifest_json.cc) and the manifest's
// validation (Model::FromArrays in core/model/model.cc) on arbitrary bytes.
//
// A manifest that parses prints and parses again. With arrays shaped as it
// says (when its sizes are small), FromArrays either refuses it with a
// printable reason or builds a model that answers a known customer, an
// unknown one and a cold-start profile with valid catalogue indices: the
// feature spec, rules and catalogue come straight from the input.

#include <cstdint>
#include <string>

#include "core/model/drift.h"
#include "core/model/manifest_json.h"
#include "core/model/model.h"
#include "core/model/recommender.h"
#include "tests/fuzz/fuzz_check.h"

namespace easymoney {
namespace {

using easymoney::model::v1::ModelManifest;

// Arrays this small are built; larger declared sizes get empty arrays, which
// validation must refuse without allocating what the manifest declares.
constexpr int kMaxBuilt = 64;

ModelArrays ArraysFor(const ModelManifest& manifest) {
  ModelArrays arrays;
  const int customers = manifest.num_customers();
  const int products = manifest.products_size();
  const int factors = manifest.num_factors();
  const int clusters = manifest.num_clusters();
  const int features = manifest.features_size();
  if (customers < 0 || customers > kMaxBuilt || products < 1 || products > kMaxBuilt || factors < 1 ||
      factors > kMaxBuilt || clusters < 1 || clusters > kMaxBuilt || features > kMaxBuilt) {
    return arrays;
  }
  for (int c = 0; c < customers; ++c) arrays.customer_ids.push_back(10 * (c + 1));
  arrays.customer_factors = RowMajorMatrix::Constant(customers, factors, 0.5f);
  for (int c = 0; c < customers; ++c) arrays.customer_factors(c, c % factors) = 1.0f + static_cast<float>(c);
  arrays.product_factors = RowMajorMatrix::Constant(products, factors, 0.25f);
  for (int p = 0; p < products; ++p) arrays.product_factors(p, p % factors) = 1.0f;
  arrays.singular_values = Eigen::VectorXf::LinSpaced(factors, static_cast<float>(factors), 1.0f);
  arrays.cluster_centroids = RowMajorMatrix::Zero(clusters, features);
  for (int k = 0; k < clusters; ++k) {
    for (int f = 0; f < features; ++f) arrays.cluster_centroids(k, f) = static_cast<float>(k - f);
  }
  arrays.holdings_indptr.push_back(0);
  for (int c = 0; c < customers; ++c) {
    arrays.customer_clusters.push_back(c % clusters);
    if (c % 2 == 0) arrays.holdings_indices.push_back(c % products);
    arrays.holdings_indptr.push_back(static_cast<int64_t>(arrays.holdings_indices.size()));
  }
  for (int p = 0; p < products; ++p) arrays.product_popularity.push_back(1.0f / static_cast<float>(p + 1));
  if (manifest.files().contains(kCustomerAgesFile)) {
    for (int c = 0; c < customers; ++c) arrays.customer_ages.push_back(c % 3 == 0 ? -1 : 15 + 10 * c);
  }
  if (manifest.files().contains(kCustomerFlagsFile)) {
    for (int c = 0; c < customers; ++c) arrays.customer_flags.push_back(static_cast<uint8_t>(c % 5 == 4));
  }
  return arrays;
}

void CheckAnswer(const Model& model, const RecommendationQuery& query) {
  absl::StatusOr<Recommendation> answer = Recommend(model, query);
  FUZZ_CHECK(answer.ok());
  std::vector<bool> seen(static_cast<size_t>(model.num_products()), false);
  for (const ScoredIndex& scored : answer->products) {
    FUZZ_CHECK(scored.index >= 0 && scored.index < model.num_products());
    FUZZ_CHECK(!seen[scored.index]);
    seen[scored.index] = true;
    FUZZ_CHECK(!model.product(scored.index).never_recommend());
  }
  if (answer->cluster_id.has_value()) {
    FUZZ_CHECK(*answer->cluster_id >= 0 && *answer->cluster_id < model.manifest().num_clusters());
  }
}

}  // namespace
}  // namespace easymoney

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace easymoney;
  const absl::string_view json(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<ModelManifest> manifest = ParseManifestJson(json);
  if (!manifest.ok()) {
    FUZZ_CHECK(fuzz::IsPrintableText(manifest.status().message()));
    return 0;
  }
  absl::StatusOr<ModelManifest> again = ParseManifestJson(ManifestToJson(*manifest));
  FUZZ_CHECK(again.ok());

  ModelArrays arrays = ArraysFor(*manifest);
  absl::StatusOr<std::shared_ptr<const Model>> model = Model::FromArrays(1, *manifest, std::move(arrays));
  if (!model.ok()) {
    FUZZ_CHECK(fuzz::IsPrintableText(model.status().message()));
    return 0;
  }
  const Model& built = **model;
  // What the server does with the training distributions (server_metrics.cc):
  // one counter per share, indexed by the bin a cold-start value falls in.
  for (const auto& distribution : manifest->feature_distributions()) {
    for (double value : {-1e300, 0.0, 17.5, 35.0, 1e6, 1e300}) {
      const int bin = DistributionBin(distribution, value);
      FUZZ_CHECK(distribution.shares_size() == 0 || (bin >= 0 && bin < distribution.shares_size()));
    }
  }
  RecommendationQuery known;
  known.customer_id = "10";
  if (built.num_customers() > 0) CheckAnswer(built, known);
  RecommendationQuery unknown;
  unknown.customer_id = "7";
  unknown.num_results = built.num_products();
  CheckAnswer(built, unknown);
  // Cold start: the profile is encoded with the manifest's feature spec.
  RecommendationQuery cold = unknown;
  ProfileInput& profile = cold.profile.emplace();
  profile.age = 34;
  profile.salary = 52000.5;
  profile.gender = "V";
  profile.segment = "02 - PARTICULARES";
  profile.entry_channel = "KHE";
  profile.entry_date = "2015-07-01";
  profile.active = true;
  CheckAnswer(built, cold);
  ProfileInput& empty = cold.profile.emplace();
  (void)empty;
  CheckAnswer(built, cold);
  return 0;
}
