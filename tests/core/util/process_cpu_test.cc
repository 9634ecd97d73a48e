#include "core/util/process_cpu.h"

#include <sched.h>
#include <time.h>

#include <chrono>
#include <thread>

#include "gtest/gtest.h"
#include "tests/testing/single_cpu.h"

namespace easymoney {
namespace {

int64_t ThreadCpuNanos() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

TEST(ProcessCpuTest, CountsCpuTimeSpentOnAnyThread) {
  const int64_t before = ProcessCpuNanos();
  int64_t spun = 0;
  // Spins until the thread itself has used 100 ms of CPU, however long a
  // busy machine makes that take.
  std::thread busy([&spun] {
    const int64_t start = ThreadCpuNanos();
    volatile uint64_t spin = 0;
    while (ThreadCpuNanos() - start < 100'000'000) spin = spin + 1;
    spun = ThreadCpuNanos() - start;
  });
  busy.join();
  const int64_t used = ProcessCpuNanos() - before;
  EXPECT_GE(used, spun);
  // This thread only waited meanwhile.
  EXPECT_LT(used, spun + 50'000'000);
}

TEST(ProcessCpuTest, SleepingUsesAlmostNoCpu) {
  const int64_t before = ProcessCpuNanos();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_LT(ProcessCpuNanos() - before, 20'000'000);
}

TEST(ProcessCpuTest, UsableCpusFollowsTheAffinityMask) {
  cpu_set_t original;
  ASSERT_EQ(sched_getaffinity(0, sizeof(original), &original), 0);
  const double all = UsableCpus();
  EXPECT_GE(all, 0.01);
  EXPECT_LE(all, CPU_COUNT(&original));
  {
    const testing::SingleCpu pinned;
    ASSERT_TRUE(pinned.pinned());
    EXPECT_LE(UsableCpus(), 1.0);
    EXPECT_GT(UsableCpus(), 0.0);
  }
  EXPECT_EQ(UsableCpus(), all) << "the mask is restored";
}

}  // namespace
}  // namespace easymoney
