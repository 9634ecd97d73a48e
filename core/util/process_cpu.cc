#include "core/util/process_cpu.h"

#include <sched.h>
#include <time.h>

#include <algorithm>
#include <fstream>
#include <string>

#include "absl/strings/numbers.h"

namespace easymoney {
namespace {

// The process's cgroup v2 CPU quota in CPUs, or 0 when none is set (or the
// machine has no cgroup v2). cpu.max holds "<quota> <period>" or "max <period>".
double CgroupCpuQuota() {
  std::ifstream membership("/proc/self/cgroup");
  std::string line;
  std::string path;
  while (std::getline(membership, line)) {
    if (line.rfind("0::", 0) == 0) path = line.substr(3);
  }
  if (path.empty()) return 0;
  std::ifstream limit("/sys/fs/cgroup" + path + "/cpu.max");
  std::string quota_text;
  std::string period_text;
  if (!(limit >> quota_text >> period_text) || quota_text == "max") return 0;
  double quota = 0;
  double period = 0;
  if (!absl::SimpleAtod(quota_text, &quota) || !absl::SimpleAtod(period_text, &period) || period <= 0) return 0;
  return quota / period;
}

}  // namespace

int64_t ProcessCpuNanos() {
  timespec now{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return static_cast<int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

double UsableCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  double cpus = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : 1;
  if (const double quota = CgroupCpuQuota(); quota > 0) cpus = std::min(cpus, quota);
  return std::max(cpus, 0.01);
}

}  // namespace easymoney
