#ifndef EASYMONEY_CORE_UTIL_PROCESS_CPU_H_
#define EASYMONEY_CORE_UTIL_PROCESS_CPU_H_

// What the process's CPU use is measured against: the CPU time it has used,
// and how many CPUs it may use (its affinity mask, and a cgroup v2 quota
// when one is set, as in a Kubernetes pod with a CPU limit).
//
// Thread-safe: plain system calls and file reads.

#include <cstdint>

namespace easymoney {

// CPU time used by all threads of the process so far, in nanoseconds.
int64_t ProcessCpuNanos();

// CPUs this process may use: the smaller of its affinity mask's size and
// the cgroup's cpu.max quota (quota / period), at least 0.01.
double UsableCpus();

}  // namespace easymoney

#endif  // EASYMONEY_CORE_UTIL_PROCESS_CPU_H_
