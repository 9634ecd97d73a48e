#ifndef EASYMONEY_TESTS_TESTING_SINGLE_CPU_H_
#define EASYMONEY_TESTS_TESTING_SINGLE_CPU_H_

// Pins the calling thread (and every thread it starts from then on, which
// inherit the mask) to the first CPU it may use, and restores the previous
// mask when it goes out of scope, also when a test returns early on a failed
// ASSERT. For tests of code that measures CPU use against the CPUs allowed.
// Not thread-safe: one per test, on the test's thread.

#include <sched.h>

#include "gtest/gtest.h"

namespace easymoney::testing {

class SingleCpu {
 public:
  SingleCpu() {
    if (sched_getaffinity(0, sizeof(original_), &original_) != 0) {
      ADD_FAILURE() << "sched_getaffinity failed";
      return;
    }
    int first = 0;
    while (!CPU_ISSET(first, &original_)) ++first;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(first, &one);
    pinned_ = sched_setaffinity(0, sizeof(one), &one) == 0;
    if (!pinned_) ADD_FAILURE() << "sched_setaffinity failed";
  }
  ~SingleCpu() {
    if (pinned_ && sched_setaffinity(0, sizeof(original_), &original_) != 0) {
      ADD_FAILURE() << "restoring the affinity mask failed";
    }
  }
  SingleCpu(const SingleCpu&) = delete;
  SingleCpu& operator=(const SingleCpu&) = delete;

  bool pinned() const { return pinned_; }

 private:
  cpu_set_t original_;
  bool pinned_ = false;
};

}  // namespace easymoney::testing

#endif  // EASYMONEY_TESTS_TESTING_SINGLE_CPU_H_
