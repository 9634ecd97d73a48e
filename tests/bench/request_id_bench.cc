// What signing every answer's request_id and verifying every feedback's
// costs (core/serving/request_id.h), beside the 60-bit random id it
// replaced. Run by scripts/bench.
#include <benchmark/benchmark.h>

#include <random>
#include <string>

#include "absl/strings/str_format.h"
#include "core/serving/request_id.h"

namespace easymoney {
namespace {

RequestIdSigner Signer() {
  auto keys = SigningKeys::Parse("k1 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
  auto shared = std::make_shared<const SigningKeys>(*std::move(keys));
  return RequestIdSigner([shared] { return shared; });
}

AnswerClaim TopFive() {
  return AnswerClaim{.model_version = 20261206, .variant = Variant::kStable, .served_unix_ms = 1'796'000'000'000,
                     .product_indices = {3, 17, 0, 22, 9}};
}

void BM_RandomHexId(benchmark::State& state) {
  std::mt19937_64 random(42);
  for (auto _ : state) {
    char id[16];
    absl::SNPrintF(id, sizeof(id), "%015x", random() >> 4);
    std::string out(id, 15);
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_RandomHexId);

void BM_IssueSignedId(benchmark::State& state) {
  const RequestIdSigner signer = Signer();
  const AnswerClaim claim = TopFive();
  for (auto _ : state) benchmark::DoNotOptimize(signer.Issue(claim, "1375586"));
}
BENCHMARK(BM_IssueSignedId);

void BM_VerifySignedId(benchmark::State& state) {
  const RequestIdSigner signer = Signer();
  const std::string id = signer.Issue(TopFive(), "1375586");
  for (auto _ : state) benchmark::DoNotOptimize(signer.Verify(id, "1375586"));
}
BENCHMARK(BM_VerifySignedId);

}  // namespace
}  // namespace easymoney

BENCHMARK_MAIN();
