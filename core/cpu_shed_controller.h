#ifndef EASYMONEY_CORE_CPU_SHED_CONTROLLER_H_
#define EASYMONEY_CORE_CPU_SHED_CONTROLLER_H_

// Load shedding for a CPU-bound overload. When more calls arrive than the
// CPU can answer, the queue forms ahead of the handlers (in the transport's
// accepted streams and the socket buffers), where an in-flight limit counted
// from handler start never sees it, and latency grows until callers' deadlines
// expire. The one signal the process does have is its own CPU: saturated for
// a whole sample window means calls are waiting for it. The controller then
// refuses a share of new calls at once (a refusal skips the handler's work,
// so the CPU it frees drains the queue) and gives the share back once the
// calls fit again.
//
// The share is computed, not stepped: from one window it knows the calls
// that reached a handler, what the handlers' work cost per admitted call (w)
// and what everything else cost per call (g: gRPC's own work, which a
// refusal costs too), so the calls it can afford to answer within
// `target_utilisation` of the CPUs are
//     admitted* = (target x CPU seconds available - calls x g) / w
// and the share to refuse is 1 - admitted* / calls. Stepping towards
// saturation overshoots (a draining backlog keeps the CPU busy after the
// share is already enough) and makes clients that throttle themselves
// chase the server; the computed share does not.
//
// Refusing only helps when the handler's work is a large part of what a call
// costs: when a call is mostly the RPC framework's own work, a refusal costs
// nearly as much as an answer, and shedding would only turn answers into
// errors. So nothing is refused unless the handlers' work is at least
// `min_work_share` of what answering a call costs (w / (w + g)).
//
// A refusal made by the client costs the server nothing at all, so the
// controller also computes the share it advises clients to refuse themselves
// (core/shed_advice.h): the share of the clients' demand (the calls they
// wanted to make, estimated from what each arriving call reports) beyond
// what the CPU can answer when nothing is refused here,
//     advised = 1 - (target x CPU seconds available / (w + g)) / demand.
// With the clients following it, the calls that arrive are the calls the
// CPU can answer and the server's own share falls to 0: while the demand
// they report exceeds the calls that arrive, only a full window (a backlog)
// is shed here, since a window just over the target is then the arrivals'
// noise. Clients that ignore the advice report nothing and are shed as
// before. The work-share guard does not apply to advice: a call refused by
// its client saves w and g alike.
//
// The CPU reading sizes the advice only roughly: it reads nearly full well
// before the answers do (at 80% of the answers it can give, this server
// already used 97% of its core, gRPC's threads polling more per call the
// fewer calls there are), so advice sized on it holds the answers near 0.8
// of the most. Clients that follow the advice therefore also report their
// queueing delay (shed_advice.h), and once enough of them do the advice is
// sized on that instead, as a rate of calls the server lets in:
//   - while most report a delay over `queue_delay_target` and the CPU reads
//     at least its target, calls are queued here, so the server answers as
//     fast as it can, and the rate is set to `delay_drain` of the calls it
//     admitted (its capacity, measured), which drains the queue;
//   - otherwise the rate grows by `delay_growth` a window, until the queue
//     forms again, and at once to what the CPU's headroom affords while it
//     reads under its target (delays with an idle CPU are the clients' own);
// and the advice is what the reporting clients must refuse for the calls
// to fit the rate, after the calls of clients that report nothing (and
// refuse nothing). The server refuses nothing itself then, unless most
// reports also exceed `shed_queue_delay`: clients ignoring the advice, or
// too many for it, fill the queue anyway. Once in this mode, it stays while
// a window has a quarter of `min_delay_reports`, since the reports thin out
// as the advice rises.
//
//   CpuShedController controller({});
//   controller.Observe(window);  // sampler thread, every 100 ms
//   if (controller.ShouldShed(draw)) { /* RESOURCE_EXHAUSTED */ }
//   if (controller.advised_share() > 0) { /* x-easymoney-shed-advice */ }
//
// Thread-safety: Observe and sizing_on_delay from one thread at a time;
// shed_share, ShouldShed and advised_share from any number of threads (one
// relaxed atomic load), queue_delay_target and shed_queue_delay (constant)
// from any.

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
    // the controller keeps seeing what answering costs. Also the most that
    // is advised (never above kMaxAdvisedShare, which clients enforce).
    double max_share = 0.9;
    // Advice sized on the clients' queueing delay, once a window has
    // `min_delay_reports` of them.
    int64_t min_delay_reports = 20;
    double queue_delay_target = 0.003;
    double delay_drain = 0.95;
    double delay_growth = 1.03;
    double shed_queue_delay = 0.05;
  };

  // What one sample window measured.
  struct Window {
    double seconds = 0;      // Wall time.
    double cpus = 1;         // CPUs the process may use.
    double cpu_seconds = 0;  // CPU time the process used.
    int64_t calls = 0;       // Calls that reached a handler (admitted or refused here).
    int64_t admitted = 0;    // Of those, the ones this controller let through.
    double work_seconds = 0; // The handlers' work on the admitted calls.
    // The calls the clients wanted to make: `calls` plus those their
    // clients refused locally, estimated as the sum of DemandWeight over the
    // arriving calls (shed_advice.h). Below `calls` (0: not measured) counts
    // as `calls`.
    double demand = 0;
    // The mean queueing delay the arriving calls reported (seconds), and
    // how many reported one.
    double queue_delay = 0;
    int64_t delay_reports = 0;
    // Of those, the ones over queue_delay_target, and the ones over
    // shed_queue_delay. A queue counts as formed (or as too long) when they
    // are the majority, so a few clients that lie (or sit behind a slow link
    // of their own) cannot hold everyone's calls back.
    int64_t delayed_reports = 0;
    int64_t long_delayed_reports = 0;
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
  // Share of their calls clients are advised to refuse themselves,
  // 0..max_share.
  double advised_share() const { return advised_.load(std::memory_order_relaxed); }
  double queue_delay_target() const { return options_.queue_delay_target; }
  double shed_queue_delay() const { return options_.shed_queue_delay; }
  // Whether the last window sized the advice on the reported queueing
  // delay. Observe's thread only.
  bool sizing_on_delay() const { return allowed_rate_ > 0; }

 private:
  // The shares the window says are needed, before smoothing.
  double NeededShare(const Window& window) const;
  double NeededAdvice(const Window& window) const;
  // The share computed from the window's CPU costs (see above).
  double CpuShare(const Window& window) const;
  // Sizes the advice on the reported delay; updates allowed_rate_,
  // demand_rate_ and unreported_rate_.
  double DelayAdvice(const Window& window);

  const Options options_;
  double share_ = 0;   // Only Observe touches them.
  double advice_ = 0;
  double allowed_rate_ = 0;     // Calls/s let in; 0: not sizing on the delay.
  double demand_rate_ = 0;      // The clients' demand, calls/s, averaged.
  double unreported_rate_ = 0;  // Of it, calls/s without a delay report, averaged.
  std::atomic<uint32_t> threshold_{0};
  std::atomic<double> advised_{0};
};

}  // namespace easymoney

#endif  // EASYMONEY_CORE_CPU_SHED_CONTROLLER_H_
