#ifndef EASYMONEY_CORE_SERVING_CPU_SHED_CONTROLLER_H_
#define EASYMONEY_CORE_SERVING_CPU_SHED_CONTROLLER_H_

// Load shedding for a CPU-bound overload. When more calls arrive than the
// CPU can answer, the queue forms ahead of the handlers (in the transport's
// accepted streams and the socket buffers), where an in-flight limit counted
// from handler start never sees it, and latency grows until callers' deadlines
// expire. The one signal the process does have is its own CPU: saturated for
// a whole sample window means calls are waiting for it. The controller then
// refuses a share of new calls at once (a refusal skips the handler's work,
// so the CPU it frees drains the queue) and gives the share back once the
// calls fit again. Refused calls get RESOURCE_EXHAUSTED, which every gRPC
// client can retry with backoff; nothing else is asked of clients.
//
// The share is computed, not stepped: from one window it knows the calls
// that reached a handler, what the handlers' work cost per admitted call (w)
// and what everything else cost per call (g: gRPC's own work, which a
// refusal costs too), so the calls it can afford to answer within
// `target_utilisation` of the CPUs are
//     admitted* = (target x CPU seconds available - calls x g) / w
// and the share to refuse is 1 - admitted* / calls. Stepping towards
// saturation overshoots: a draining backlog keeps the CPU busy after the
// share is already enough.
//
// Refusing only helps when the handler's work is a large part of what a call
// costs: when a call is mostly the RPC framework's own work, a refusal costs
// nearly as much as an answer, and shedding would only turn answers into
// errors. So nothing is refused unless the handlers' work is at least
// `min_work_share` of what answering a call costs (w / (w + g)).
//
//   CpuShedController controller({});
//   controller.Observe(window);  // sampler thread, every 100 ms
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
    // Shedding starts when a window's CPU use reaches this share of the
    // CPUs the process may use, and the share is computed so that the
    // admitted calls keep it there.
    double target_utilisation = 0.9;
    // A window that used the CPU fully (`full_utilisation` or more) had
    // calls waiting for it: a backlog, which the headroom of
    // target_utilisation would take seconds to drain. Such a window's share
    // is computed for `drain_utilisation` instead, so the backlog drains in
    // a few windows.
    double full_utilisation = 0.98;
    double drain_utilisation = 0.7;
    // Least share of an answer's CPU cost that is the handler's own work
    // (what a refusal saves) for refusals to relieve the CPU.
    double min_work_share = 0.5;
    // The most that is ever refused, so some calls always get through and
    // the controller keeps seeing what answering costs.
    double max_share = 0.9;
  };

  // What one sample window measured.
  struct Window {
    double seconds = 0;      // Wall time.
    double cpus = 1;         // CPUs the process may use.
    double cpu_seconds = 0;  // CPU time the process used.
    int64_t calls = 0;       // Calls that reached a handler (admitted or refused here).
    int64_t admitted = 0;    // Of those, the ones this controller let through.
    double work_seconds = 0; // The handlers' work on the admitted calls.
  };

  explicit CpuShedController(const Options& options) : options_(options) {}

  void Observe(const Window& window);

  // w / (w + g) for the window: the part of an answer's CPU cost that is the
  // handler's own work, which a refusal saves. 0 when nothing was answered.
  static double WorkShare(const Window& window);

  // Share of new calls refused now, 0..max_share.
  double shed_share() const {
    return static_cast<double>(threshold_.load(std::memory_order_relaxed)) / 4294967296.0;
  }
  // True for shed_share() of uniform draws over [0, 2^32).
  bool ShouldShed(uint32_t draw) const { return draw < threshold_.load(std::memory_order_relaxed); }

 private:
  // The share the window says is needed, before smoothing.
  double NeededShare(const Window& window) const;

  const Options options_;
  double share_ = 0;  // Only Observe touches it.
  std::atomic<uint32_t> threshold_{0};
};

}  // namespace easymoney

#endif  // EASYMONEY_CORE_SERVING_CPU_SHED_CONTROLLER_H_
