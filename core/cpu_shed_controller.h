#ifndef EASYMONEY_CORE_CPU_SHED_CONTROLLER_H_
#define EASYMONEY_CORE_CPU_SHED_CONTROLLER_H_

// Load shedding for a CPU-bound overload. When more calls arrive than the
// CPU can answer, the queue forms ahead of the handlers (in the transport's
// accepted streams and the socket buffers), where an in-flight limit counted
// from handler start never sees it, and latency grows until callers' deadlines
// expire. The one signal the process does have is its own CPU: saturated for
// a whole sample window means calls are waiting for it. The controller then
// refuses a growing share of new calls at once (a refusal skips the handler's
// work, so the CPU it frees drains the queue) and gives the share back once
// the CPU has room again.
//
// Refusing only helps when the handler's work is a large part of what a call
// costs: when a call is mostly the RPC framework's own work, a refusal costs
// nearly as much as an answer, and shedding would only turn answers into
// errors. So the share only grows while the handlers' work is at least
// `min_work_share` of the CPU the process uses.
//
//   CpuShedController controller({});
//   controller.Observe(utilisation, work_share);  // sampler thread, every 100 ms
//   if (controller.ShouldShed(draw)) { /* RESOURCE_EXHAUSTED */ }
//
// Thread-safety: Observe from one thread at a time; shed_share and
// ShouldShed from any number of threads (one relaxed atomic load).

#include <atomic>
#include <cstdint>

namespace easymoney {

class CpuShedController {
 public:
  struct Options {
    // A window at or above this utilisation is saturated: the share grows.
    // Any other window gives a little back, so the share settles at the
    // least that keeps the CPU just short of saturation (a backlog still
    // draining keeps the CPU saturated after the share is already enough;
    // the decay undoes that overshoot).
    double saturated_utilisation = 0.9;
    // Least share of the process's CPU time spent in the handlers' own work
    // for refusals to relieve the CPU.
    double min_work_share = 0.5;
    // Change of the refused share per saturated / relieved window.
    double raise_step = 0.1;
    double lower_step = 0.02;
    // The most that is ever refused, so some calls always get through and
    // the controller keeps seeing what answering costs.
    double max_share = 0.9;
  };

  explicit CpuShedController(const Options& options) : options_(options) {}

  // One sample window: `utilisation` is the process's CPU time over the
  // window's wall time times the CPUs it may use (0..1; more is read as 1),
  // `work_share` the part of that CPU time the handlers' work took (0..1).
  void Observe(double utilisation, double work_share);

  // Share of new calls refused now, 0..max_share.
  double shed_share() const {
    return static_cast<double>(threshold_.load(std::memory_order_relaxed)) / 4294967296.0;
  }
  // True for shed_share() of uniform draws over [0, 2^32).
  bool ShouldShed(uint32_t draw) const { return draw < threshold_.load(std::memory_order_relaxed); }

 private:
  const Options options_;
  double share_ = 0;  // Only Observe touches it.
  std::atomic<uint32_t> threshold_{0};
};

}  // namespace easymoney

#endif  // EASYMONEY_CORE_CPU_SHED_CONTROLLER_H_
