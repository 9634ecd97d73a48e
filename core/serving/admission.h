#ifndef EASYMONEY_CORE_SERVING_ADMISSION_H_
#define EASYMONEY_CORE_SERVING_ADMISSION_H_

#include <atomic>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "core/serving/cpu_shed_controller.h"

namespace easymoney {

// Admission control of the Recommender calls: one Admit() before any work,
// refusing with RESOURCE_EXHAUSTED (retry with backoff, the one thing a
// client in any language needs to know) when the server is overloaded.
// Two mechanisms, in order:
//   - CPU shedding (cpu_shed_controller.h): while the CPU is saturated, a
//     share of new calls, so the queue ahead of the handlers drains;
//   - the in-flight limit: calls between Admit and Release beyond
//     max_in_flight, once the count has stayed at the limit for
//     overload_grace (a burst drains by itself; a standing queue does not:
//     CoDel's distinction).
//
//   Admission admission({.max_in_flight = 1024});
//   if (absl::Status status = admission.Admit(); !status.ok()) return status;
//   ... answer ...
//   admission.AddWork(handler_seconds);   // what refusing would have saved
//   admission.Release();                  // once the answer is sent
//
// Thread-safe: every member is an atomic with relaxed ordering (counters
// and the over-limit timestamp, read only as estimates).
class Admission {
 public:
  struct Options {
    // Calls allowed between Admit and Release; 0: no limit.
    int max_in_flight = 0;
    absl::Duration overload_grace = absl::Milliseconds(100);
    // Refuses its shed_share() of new calls; null: no CPU shedding.
    // Borrowed; must outlive the Admission.
    const CpuShedController* cpu_shed = nullptr;
  };

  explicit Admission(const Options& options)
      : max_in_flight_(options.max_in_flight),
        overload_grace_ns_(absl::ToInt64Nanoseconds(options.overload_grace)),
        cpu_shed_(options.cpu_shed) {}

  // OK: admitted, and in flight until Release(). RESOURCE_EXHAUSTED with the
  // reason otherwise (then nothing is to be released).
  absl::Status Admit();
  void Release() { in_flight_.fetch_sub(1, std::memory_order_relaxed); }
  // Handler work of an admitted call: the CPU shedding controller's measure
  // of what a refusal saves. Counted only while CPU shedding is on.
  void AddWork(double seconds) {
    if (cpu_shed_ != nullptr) work_nanos_.fetch_add(static_cast<int64_t>(seconds * 1e9), std::memory_order_relaxed);
  }

  int64_t in_flight() const { return in_flight_.load(std::memory_order_relaxed); }

  // What the CPU shedding sampler reads each window (all 0 without CPU
  // shedding): calls that asked, calls admitted past both refusals, and the
  // handler work of admitted calls, since start.
  struct Counters {
    int64_t calls = 0;
    int64_t admitted = 0;
    int64_t work_nanos = 0;
  };
  Counters counters() const {
    return {calls_.load(std::memory_order_relaxed), admitted_.load(std::memory_order_relaxed),
            work_nanos_.load(std::memory_order_relaxed)};
  }

 private:
  // Whether a call arriving with `running` calls in flight is to be shed.
  bool OverLimit(int64_t running);

  const int max_in_flight_;
  const int64_t overload_grace_ns_;
  const CpuShedController* const cpu_shed_;
  std::atomic<int64_t> in_flight_{0};
  // steady_clock nanoseconds since when the in-flight count has been at the
  // limit without a break; 0: below it.
  std::atomic<int64_t> over_limit_since_ns_{0};
  std::atomic<int64_t> calls_{0};
  std::atomic<int64_t> admitted_{0};
  std::atomic<int64_t> work_nanos_{0};
};

}  // namespace easymoney

#endif  // EASYMONEY_CORE_SERVING_ADMISSION_H_
