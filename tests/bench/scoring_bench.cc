// Google Benchmark of the scoring kernel (core/model/scoring_kernel.h): top-10 for
// one customer over catalogues of 15 .. 1,000,000 products and 16 .. 128
// factors, and for batches, side by side with
//   - "eigen": a straightforward Eigen V * u followed by std::partial_sort of
//     an index array (what one writes first), and
//   - "faiss": FAISS IndexFlatIP::search on the same vectors (when the build
//     found Debian's libfaiss-dev), one thread (OMP_NUM_THREADS=1 from
//     scripts/bench), since our kernel uses one.
//
// Before the benchmarks the binary measures this machine's single-core limits
// (a streaming read of 1 GiB for memory bandwidth, independent register FMA
// chains for peak GFLOP/s) and every benchmark reports the fraction of the
// limit it reaches: bw_frac (bytes of product factors read per second over
// the measured bandwidth; the limit for one query on a large catalogue) and
// flop_frac (2 x products x factors per query over the measured FMA peak;
// the limit for batches, whose factors stay in cache).
//
//   build/bin/scoring_bench --benchmark_filter='1000000'
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <numeric>
#include <random>
#include <vector>

#include <benchmark/benchmark.h>

#include "core/model/scoring_kernel.h"
#include "core/model/matrix.h"

#ifdef EASYMONEY_HAVE_FAISS
#include <faiss/IndexFlat.h>
#endif

namespace easymoney {
namespace {

constexpr int kTopN = 10;
double g_bandwidth_bytes_per_second = 0;
double g_peak_flops = 0;

// The machine limits are measured with the widest vectors the kernel itself
// may use (it picks AVX-512 where the CPU has it).
#define EASYMONEY_BENCH_ISA __attribute__((target("avx512f,avx512vl,avx2,fma,prefer-vector-width=512")))

EASYMONEY_BENCH_ISA
float SumFloats(const float* data, size_t size) {
  // Sixteen independent partial sums so the adds never wait on each other:
  // the loop is limited by how fast memory delivers the bytes.
  float acc[64] = {};
  for (size_t i = 0; i + 64 <= size; i += 64) {
    for (int j = 0; j < 64; ++j) acc[j] += data[i + j];
  }
  float total = 0;
  for (float a : acc) total += a;
  return total;
}

EASYMONEY_BENCH_ISA
float FmaChains(int64_t iterations, float x) {
  // 12 independent 16-wide chains: enough to cover FMA latency x throughput
  // on current x86 cores, all in registers.
  float acc[12 * 16];
  for (int i = 0; i < 12 * 16; ++i) acc[i] = static_cast<float>(i) * 1e-3f;
  const float m = 0.999999f;
  for (int64_t it = 0; it < iterations; ++it) {
    for (int j = 0; j < 12 * 16; ++j) acc[j] = acc[j] * m + x;
  }
  float total = 0;
  for (float a : acc) total += a;
  return total;
}

double Seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void MeasureMachineLimits() {
  if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512vl")) {
    std::fprintf(stderr, "this benchmark's limit probes need AVX-512 (the machine the figures were taken on)\n");
    std::exit(2);
  }
  const size_t floats = size_t{1} << 28;  // 1 GiB.
  std::vector<float> data(floats, 1.0f);
  double best = 1e9;
  float sink = 0;
  for (int rep = 0; rep < 5; ++rep) {
    const auto start = std::chrono::steady_clock::now();
    sink += SumFloats(data.data(), data.size());
    best = std::min(best, Seconds(start));
  }
  g_bandwidth_bytes_per_second = static_cast<double>(floats * sizeof(float)) / best;
  best = 1e9;
  const int64_t iterations = 20'000'000;
  for (int rep = 0; rep < 5; ++rep) {
    const auto start = std::chrono::steady_clock::now();
    sink += FmaChains(iterations, sink * 1e-30f);
    best = std::min(best, Seconds(start));
  }
  g_peak_flops = 2.0 * 12 * 16 * static_cast<double>(iterations) / best;
  std::fprintf(stderr, "machine limits (one core): read bandwidth %.1f GB/s, FMA peak %.1f GFLOP/s (sink %g)\n",
               g_bandwidth_bytes_per_second / 1e9, g_peak_flops / 1e9, static_cast<double>(sink));
}

struct Data {
  RowMajorMatrix v;
  PackedFactors packed;
  std::vector<float> users;  // kUsers x factors.
  std::vector<float> bias;
};
constexpr int kUsers = 256;

const Data& GetData(int64_t products, int factors) {
  static std::map<std::pair<int64_t, int>, std::unique_ptr<Data>>* cache = new std::map<std::pair<int64_t, int>, std::unique_ptr<Data>>();
  auto& slot = (*cache)[{products, factors}];
  if (slot == nullptr) {
    cache->clear();  // One catalogue in memory at a time (1M x 128 is 512 MB).
    auto& fresh = (*cache)[{products, factors}];
    fresh = std::make_unique<Data>();
    std::mt19937_64 rng(42);
    std::normal_distribution<float> normal(0, 1);
    fresh->v.resize(products, factors);
    for (int64_t i = 0; i < fresh->v.size(); ++i) fresh->v.data()[i] = normal(rng);
    fresh->packed = PackedFactors(fresh->v);
    fresh->users.resize(static_cast<size_t>(kUsers) * factors);
    for (float& x : fresh->users) x = normal(rng);
    fresh->bias.resize(static_cast<size_t>(products));
    for (float& x : fresh->bias) x = 0.01f * normal(rng);
    return *fresh;
  }
  return *slot;
}

void ReportLimits(benchmark::State& state, int64_t products, int factors, int64_t queries_per_iteration,
                  bool reads_factors_once) {
  const double bytes = static_cast<double>(products) * factors * sizeof(float) *
                       (reads_factors_once ? 1 : static_cast<double>(queries_per_iteration));
  const double flops = 2.0 * static_cast<double>(products) * factors * static_cast<double>(queries_per_iteration);
  state.counters["bytes_per_s"] = benchmark::Counter(bytes, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["flops_per_s"] = benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["queries_per_s"] =
      benchmark::Counter(static_cast<double>(queries_per_iteration), benchmark::Counter::kIsIterationInvariantRate);
  // Fractions are filled in by the reporter-independent formula below:
  // Google Benchmark divides "rate" counters by the measured time, so a
  // rate counter over the limit gives the fraction directly.
  state.counters["bw_frac"] = benchmark::Counter(bytes / g_bandwidth_bytes_per_second,
                                                 benchmark::Counter::kIsIterationInvariantRate);
  state.counters["flop_frac"] =
      benchmark::Counter(flops / g_peak_flops, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_Kernel(benchmark::State& state) {
  const int64_t products = state.range(0);
  const int factors = static_cast<int>(state.range(1));
  const Data& data = GetData(products, factors);
  TopNList out;
  int user = 0;
  for (auto _ : state) {
    TopNScores(data.packed, std::span<const float>(data.users).subspan(static_cast<size_t>(user * factors), factors),
               data.bias, {}, kTopN, out);
    benchmark::DoNotOptimize(out.data());
    user = (user + 1) % kUsers;
  }
  ReportLimits(state, products, factors, 1, true);
}

void BM_EigenPartialSort(benchmark::State& state) {
  const int64_t products = state.range(0);
  const int factors = static_cast<int>(state.range(1));
  const Data& data = GetData(products, factors);
  Eigen::VectorXf scores(products);
  std::vector<int32_t> order(static_cast<size_t>(products));
  int user = 0;
  for (auto _ : state) {
    const Eigen::Map<const Eigen::VectorXf> u(data.users.data() + static_cast<size_t>(user) * factors, factors);
    scores.noalias() = data.v * u;
    scores += Eigen::Map<const Eigen::VectorXf>(data.bias.data(), products);
    std::iota(order.begin(), order.end(), 0);
    const int n = static_cast<int>(std::min<int64_t>(kTopN, products));
    std::partial_sort(order.begin(), order.begin() + n, order.end(), [&](int32_t a, int32_t b) {
      return scores[a] != scores[b] ? scores[a] > scores[b] : a < b;
    });
    benchmark::DoNotOptimize(order.data());
    user = (user + 1) % kUsers;
  }
  ReportLimits(state, products, factors, 1, true);
}

#ifdef EASYMONEY_HAVE_FAISS
void BM_FaissFlatIP(benchmark::State& state) {
  const int64_t products = state.range(0);
  const int factors = static_cast<int>(state.range(1));
  const Data& data = GetData(products, factors);
  faiss::IndexFlatIP index(factors);
  index.add(products, data.v.data());
  const int n = static_cast<int>(std::min<int64_t>(kTopN, products));
  std::vector<float> distances(n);
  std::vector<faiss::Index::idx_t> labels(n);
  int user = 0;
  for (auto _ : state) {
    // FAISS has no bias term; the comparison leaves it out (to our
    // disadvantage: the kernel still adds one).
    index.search(1, data.users.data() + static_cast<size_t>(user) * factors, n, distances.data(), labels.data());
    benchmark::DoNotOptimize(labels.data());
    user = (user + 1) % kUsers;
  }
  ReportLimits(state, products, factors, 1, true);
}
#endif

void BM_KernelBatch(benchmark::State& state) {
  const int64_t products = state.range(0);
  const int factors = static_cast<int>(state.range(1));
  const int batch = static_cast<int>(state.range(2));
  const Data& data = GetData(products, factors);
  std::vector<TopNList> out(static_cast<size_t>(batch));
  for (auto _ : state) {
    TopNScoresBatch(data.packed, std::span<const float>(data.users).first(static_cast<size_t>(batch) * factors),
                    data.bias, kTopN, out);
    benchmark::DoNotOptimize(out.data());
  }
  ReportLimits(state, products, factors, batch, true);
}

void BM_EigenBatch(benchmark::State& state) {
  const int64_t products = state.range(0);
  const int factors = static_cast<int>(state.range(1));
  const int batch = static_cast<int>(state.range(2));
  const Data& data = GetData(products, factors);
  RowMajorMatrix scores(batch, products);
  std::vector<int32_t> order(static_cast<size_t>(products));
  const Eigen::Map<const RowMajorMatrix> users(data.users.data(), batch, factors);
  for (auto _ : state) {
    scores.noalias() = users * data.v.transpose();
    const int n = static_cast<int>(std::min<int64_t>(kTopN, products));
    for (int b = 0; b < batch; ++b) {
      const float* row = scores.row(b).data();
      std::iota(order.begin(), order.end(), 0);
      std::partial_sort(order.begin(), order.begin() + n, order.end(), [&](int32_t x, int32_t y) {
        const float sx = row[x] + data.bias[x];
        const float sy = row[y] + data.bias[y];
        return sx != sy ? sx > sy : x < y;
      });
      benchmark::DoNotOptimize(order.data());
    }
  }
  ReportLimits(state, products, factors, batch, true);
}

void SingleQueryArgs(benchmark::internal::Benchmark* b) {
  for (int64_t products : {15, 1000, 100000, 1000000}) {
    for (int factors : {16, 32, 64, 128}) b->Args({products, factors});
  }
}

void BatchArgs(benchmark::internal::Benchmark* b) {
  for (int64_t products : {1000, 100000}) {
    for (int factors : {32, 128}) b->Args({products, factors, 64});
  }
}

BENCHMARK(BM_Kernel)->Apply(SingleQueryArgs)->ArgNames({"products", "factors"});
BENCHMARK(BM_EigenPartialSort)->Apply(SingleQueryArgs)->ArgNames({"products", "factors"});
#ifdef EASYMONEY_HAVE_FAISS
BENCHMARK(BM_FaissFlatIP)->Apply(SingleQueryArgs)->ArgNames({"products", "factors"});
#endif
BENCHMARK(BM_KernelBatch)->Apply(BatchArgs)->ArgNames({"products", "factors", "batch"});
BENCHMARK(BM_EigenBatch)->Apply(BatchArgs)->ArgNames({"products", "factors", "batch"});

}  // namespace
}  // namespace easymoney

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  easymoney::MeasureMachineLimits();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
