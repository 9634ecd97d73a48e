// customer_lookup_bench: the server's customer-id lookup (SortedIdIndex)
// against the plain binary search it replaced, side by side, on sorted id
// arrays the size of easyMoney (456,373 customers) and of the 10M-customer
// model of docs/performance.md. Ids are drawn like easyMoney's (a range about
// three times the count) and looked up in random order, so neither search
// is helped by the previous lookup's cache lines.
//
//   build/bin/customer_lookup_bench --benchmark_min_time=0.5

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <vector>

#include "benchmark/benchmark.h"
#include "core/model/sorted_id_index.h"

namespace easymoney {
namespace {

struct Ids {
  std::vector<int64_t> sorted;
  std::vector<int64_t> probes;  // Ids present in `sorted`, in random order.
};

const Ids& IdsOfSize(int64_t count) {
  static std::map<int64_t, Ids> cache;
  auto [it, inserted] = cache.try_emplace(count);
  if (!inserted) return it->second;
  Ids& ids = it->second;
  std::mt19937_64 random(7);
  // Every id in [15889, 15889 + 3 * count) kept with probability 1/3.
  ids.sorted.reserve(static_cast<size_t>(count) + count / 10);
  for (int64_t id = 15889; static_cast<int64_t>(ids.sorted.size()) < count; ++id) {
    if (random() % 3 == 0) ids.sorted.push_back(id);
  }
  ids.probes.resize(1 << 16);
  std::uniform_int_distribution<size_t> row(0, ids.sorted.size() - 1);
  for (int64_t& probe : ids.probes) probe = ids.sorted[row(random)];
  return ids;
}

void BM_BinarySearch(benchmark::State& state) {
  const Ids& ids = IdsOfSize(state.range(0));
  size_t i = 0;
  for (auto _ : state) {
    const int64_t id = ids.probes[i++ & (ids.probes.size() - 1)];
    auto it = std::lower_bound(ids.sorted.begin(), ids.sorted.end(), id);
    benchmark::DoNotOptimize(it);
  }
}

void BM_SortedIdIndex(benchmark::State& state) {
  const Ids& ids = IdsOfSize(state.range(0));
  const SortedIdIndex index(ids.sorted);
  size_t i = 0;
  for (auto _ : state) {
    const int64_t id = ids.probes[i++ & (ids.probes.size() - 1)];
    auto row = index.Find(id);
    benchmark::DoNotOptimize(row);
  }
  state.counters["table_MB"] = static_cast<double>(index.table_bytes()) / 1e6;
}

void BM_BuildIndex(benchmark::State& state) {
  const Ids& ids = IdsOfSize(state.range(0));
  for (auto _ : state) {
    SortedIdIndex index(ids.sorted);
    benchmark::DoNotOptimize(index);
  }
}

BENCHMARK(BM_BinarySearch)->Arg(456373)->Arg(10000000)->ArgName("customers");
BENCHMARK(BM_SortedIdIndex)->Arg(456373)->Arg(10000000)->ArgName("customers");
BENCHMARK(BM_BuildIndex)->Arg(456373)->Arg(10000000)->ArgName("customers")->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace easymoney

BENCHMARK_MAIN();
