// model_load_bench: writes a synthetic model version of a given size, or
// loads one and reports how long Model::Load took. Run the two modes as
// separate processes (scripts/bench does, under /usr/bin/time) so the
// loader's peak memory is measured on its own.
//
//   model_load_bench --write --customers 1000000 --factors 32 --model-base /tmp/m
//   model_load_bench --load --model-base /tmp/m --version 1

#include <chrono>
#include <deque>
#include <cstdio>
#include <random>
#include <string>

#include "absl/flags/flag.h"
#include "core/model/model.h"
#include "core/model/model_directory.h"
#include "core/util/progress.h"
#include "core/util/tool_flags.h"

ABSL_FLAG(bool, write, false, "Write a synthetic version.");
ABSL_FLAG(bool, load, false, "Load --version and report the time.");
ABSL_FLAG(int64_t, customers, 1000000, "--write: customers.");
ABSL_FLAG(int, factors, 32, "--write: factors.");
ABSL_FLAG(int, products, 15, "--write: products.");
ABSL_FLAG(std::string, model_base, "", "Model base directory.");
ABSL_FLAG(int64_t, version, 1, "--load: version to load.");
ABSL_FLAG(int, repeat, 1, "--load: load it this many times in one process.");
ABSL_FLAG(bool, map, true, "--load: map the per-customer arrays (the server's --map-model-arrays) instead of copying them (its default).");
ABSL_FLAG(int, hold, 2, "--load with --repeat: loaded copies kept in memory, like a server's stable and previous.");

namespace {

int Write() {
  const int64_t customers = absl::GetFlag(FLAGS_customers);
  const int factors = absl::GetFlag(FLAGS_factors);
  const int products = absl::GetFlag(FLAGS_products);
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<float> uniform(-1, 1);
  easymoney::ModelArrays arrays;
  easymoney::ProgressLine progress("generating customers", customers);
  arrays.customer_ids.resize(static_cast<size_t>(customers));
  arrays.customer_factors.resize(customers, factors);
  arrays.customer_clusters.resize(static_cast<size_t>(customers));
  arrays.holdings_indptr.reserve(static_cast<size_t>(customers) + 1);
  arrays.holdings_indptr.push_back(0);
  for (int64_t i = 0; i < customers; ++i) {
    arrays.customer_ids[i] = 15000 + 3 * i;
    for (int f = 0; f < factors; ++f) arrays.customer_factors(i, f) = uniform(rng);
    arrays.customer_clusters[i] = static_cast<int32_t>(i % 8);
    arrays.holdings_indices.push_back(static_cast<int32_t>(i % products));
    arrays.holdings_indptr.push_back(static_cast<int64_t>(arrays.holdings_indices.size()));
    if ((i & 0xfffff) == 0) progress.Update(i);
  }
  progress.Finish();
  arrays.product_factors = easymoney::RowMajorMatrix::Random(products, factors);
  arrays.singular_values = Eigen::VectorXf::LinSpaced(factors, static_cast<float>(factors), 1.0f);
  arrays.cluster_centroids = easymoney::RowMajorMatrix::Random(8, 1);
  arrays.product_popularity.assign(static_cast<size_t>(products), 0.1f);
  easymoney::model::v1::ModelManifest manifest;
  manifest.set_format_version(easymoney::kModelFormatVersion);
  manifest.set_num_customers(static_cast<int32_t>(customers));
  manifest.set_num_products(products);
  manifest.set_num_factors(factors);
  manifest.set_num_clusters(8);
  manifest.set_num_features(1);
  for (int p = 0; p < products; ++p) {
    auto* product = manifest.add_products();
    product->set_id("product_" + std::to_string(p));
    product->set_name("Product " + std::to_string(p));
  }
  auto* feature = manifest.add_features();
  feature->set_name("age");
  feature->set_kind("numeric");
  feature->set_source("age");
  feature->set_stddev(1);
  auto version = easymoney::WriteModelVersion(absl::GetFlag(FLAGS_model_base), manifest, arrays);
  if (!version.ok()) {
    std::fprintf(stderr, "%s\n", std::string(version.status().message()).c_str());
    return 1;
  }
  std::printf("wrote version %lld\n", static_cast<long long>(*version));
  return 0;
}

int Load() {
  const int64_t version = absl::GetFlag(FLAGS_version);
  // What a serving process does on every swap: load the next version while
  // the serving one (and the previous, kept for rollback) stay in memory.
  std::deque<std::shared_ptr<const easymoney::Model>> held;
  for (int round = 1; round <= absl::GetFlag(FLAGS_repeat); ++round) {
    const auto start = std::chrono::steady_clock::now();
    auto model = easymoney::Model::Load(absl::GetFlag(FLAGS_model_base) + "/" + std::to_string(version), version,
                                        {.map_customer_arrays = absl::GetFlag(FLAGS_map)});
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!model.ok()) {
      std::fprintf(stderr, "%s\n", std::string(model.status().message()).c_str());
      return 1;
    }
    std::printf("loaded version %lld (%lld customers x %d factors, %s) in %.3f s (load %d, %zu others in memory)\n",
                static_cast<long long>(version), static_cast<long long>((*model)->num_customers()),
                (*model)->num_factors(), (*model)->mapped_bytes() > 0 ? "mapped" : "copied", seconds, round,
                held.size());
    std::fflush(stdout);
    held.push_back(*std::move(model));
    while (static_cast<int>(held.size()) > absl::GetFlag(FLAGS_hold)) held.pop_front();
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  easymoney::ParseToolFlags(argc, argv,
                            "Writes (--write) or loads (--load) a synthetic model version for load benchmarks.\n"
                            "Usage: model_load_bench --write|--load --model-base DIR [--customers N] [--factors F]");
  if (absl::GetFlag(FLAGS_model_base).empty() || absl::GetFlag(FLAGS_write) == absl::GetFlag(FLAGS_load)) {
    std::fprintf(stderr, "give --model-base and exactly one of --write, --load (see --help)\n");
    return 2;
  }
  return absl::GetFlag(FLAGS_write) ? Write() : Load();
}
