// Replays every file of tests/fuzz/corpus/<target>/ through that target's
// LLVMFuzzerTestOneInput (renamed per target when compiled into this test;
// see tests/fuzz/CMakeLists.txt), so every ctest run checks the corpora
// with a plain build, no clang or libFuzzer needed. A failed check aborts:
// the test fails and stderr names the file being replayed.

#include <unistd.h>

#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <ostream>
#include <string>

#include "core/model/npy.h"
#include "gtest/gtest.h"

extern "C" int NpyFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" int ManifestFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" int RoutingFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" int RequestFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" int ConnectFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace easymoney {
namespace {

namespace fs = std::filesystem;

struct FuzzTarget {
  const char* name;  // Also the corpus directory.
  int (*test_one_input)(const uint8_t* data, size_t size);
};

void PrintTo(const FuzzTarget& target, std::ostream* out) { *out << target.name; }

// The file being replayed, for the abort handler (which may only write).
char replaying[4096];

void SayWhichFile(int) {
  const char prefix[] = "\nfuzz_corpus_replay: aborted while replaying ";
  (void)!write(STDERR_FILENO, prefix, sizeof(prefix) - 1);
  (void)!write(STDERR_FILENO, replaying, std::strlen(replaying));
  (void)!write(STDERR_FILENO, "\n", 1);
  std::signal(SIGABRT, SIG_DFL);
  std::raise(SIGABRT);
}

class FuzzCorpusReplayTest : public ::testing::TestWithParam<FuzzTarget> {};

TEST_P(FuzzCorpusReplayTest, EveryCorpusFilePassesTheTargetsChecks) {
  const fs::path corpus = fs::path(FUZZ_CORPUS_DIR) / GetParam().name;
  ASSERT_TRUE(fs::is_directory(corpus)) << corpus;
  std::signal(SIGABRT, SayWhichFile);
  int files = 0;
  for (const fs::directory_entry& entry : fs::directory_iterator(corpus)) {
    if (!entry.is_regular_file()) continue;
    auto bytes = ReadFileToString(entry.path().string());
    ASSERT_TRUE(bytes.ok()) << bytes.status();
    std::strncpy(replaying, entry.path().c_str(), sizeof(replaying) - 1);
    GetParam().test_one_input(reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size());
    ++files;
  }
  std::signal(SIGABRT, SIG_DFL);
  EXPECT_GT(files, 0) << "empty corpus " << corpus;
  std::printf("%s: %d corpus files replayed\n", GetParam().name, files);
}

INSTANTIATE_TEST_SUITE_P(Corpora, FuzzCorpusReplayTest,
                         ::testing::Values(FuzzTarget{"npy", NpyFuzzerTestOneInput},
                                           FuzzTarget{"manifest", ManifestFuzzerTestOneInput},
                                           FuzzTarget{"routing", RoutingFuzzerTestOneInput},
                                           FuzzTarget{"request", RequestFuzzerTestOneInput},
                                           FuzzTarget{"connect", ConnectFuzzerTestOneInput}),
                         [](const ::testing::TestParamInfo<FuzzTarget>& info) { return info.param.name; });

}  // namespace
}  // namespace easymoney
