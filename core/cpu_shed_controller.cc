#include "core/cpu_shed_controller.h"

#include <algorithm>
#include <cmath>

#include "core/shed_advice.h"

namespace easymoney {

namespace {

// What the window says an answer costs: the handler's work per admitted call
// (w) and everything else per call (g: the RPC framework's own work, which a
// refusal costs too). Needs calls and admitted calls in the window.
struct Costs {
  double work_per_answer;
  double overhead_per_call;
};
Costs CostsOf(const CpuShedController::Window& window) {
  return {window.work_seconds / static_cast<double>(window.admitted),
          std::max(0.0, window.cpu_seconds - window.work_seconds) / static_cast<double>(window.calls)};
}

}  // namespace

double CpuShedController::WorkShare(const Window& window) {
  if (window.admitted <= 0 || window.calls <= 0) return 0;
  const Costs costs = CostsOf(window);
  const double total = costs.work_per_answer + costs.overhead_per_call;
  return total > 0 ? costs.work_per_answer / total : 0;
}

double CpuShedController::NeededShare(const Window& window) const {
  const double available = window.seconds * window.cpus;
  if (window.calls <= 0 || window.cpu_seconds <= 0 || available <= 0) return 0;
  const double utilisation = window.cpu_seconds / available;
  // Not saturated and nothing being refused: nothing to do.
  if (utilisation < options_.target_utilisation && share_ == 0) return 0;
  if (window.admitted <= 0) return share_;  // No answer to price; hold.
  // Clients following the advice already send about what the CPU can
  // answer; a window over the target is then the noise of the arrivals, and
  // refusing on it would only turn answers the advice let through into
  // errors (and hold the CPU under its target by the share refused). Only a
  // full window, a backlog, is still refused here.
  const bool clients_hold_back = advice_ > 0 && window.demand > static_cast<double>(window.calls) * 1.01;
  if (clients_hold_back && utilisation < options_.full_utilisation) return 0;
  return CpuShare(window);
}

double CpuShedController::CpuShare(const Window& window) const {
  const double available = window.seconds * window.cpus;
  if (window.calls <= 0 || window.cpu_seconds <= 0 || available <= 0) return 0;
  if (window.admitted <= 0) return share_;  // No answer to price; hold.
  const double utilisation = window.cpu_seconds / available;
  // Refusing a call saves its handler work only: not worth it when that is
  // a small part of what answering costs. (Per answer, not per window: the
  // more is refused, the more of the window's CPU is refusals' overhead.)
  if (WorkShare(window) < options_.min_work_share) return 0;
  const auto [work_per_answer, overhead_per_call] = CostsOf(window);
  const double target =
      utilisation >= options_.full_utilisation ? options_.drain_utilisation : options_.target_utilisation;
  const double affordable =
      (target * available - static_cast<double>(window.calls) * overhead_per_call) / work_per_answer;
  return std::clamp(1.0 - affordable / static_cast<double>(window.calls), 0.0, options_.max_share);
}

double CpuShedController::NeededAdvice(const Window& window) const {
  const double available = window.seconds * window.cpus;
  if (window.calls <= 0 || window.cpu_seconds <= 0 || available <= 0) return 0;
  const double utilisation = window.cpu_seconds / available;
  if (utilisation < options_.target_utilisation && advice_ == 0) return 0;
  if (window.admitted <= 0) return advice_;
  const auto [work_per_answer, overhead_per_call] = CostsOf(window);
  const double per_answer = work_per_answer + overhead_per_call;
  if (!(per_answer > 0)) return advice_;
  const double target =
      utilisation >= options_.full_utilisation ? options_.drain_utilisation : options_.target_utilisation;
  // What the CPU answers when every call that arrives is answered.
  const double answerable = target * available / per_answer;
  const double demand = std::max(window.demand, static_cast<double>(window.calls));
  return std::clamp(1.0 - answerable / demand, 0.0, std::min(options_.max_share, kMaxAdvisedShare));
}

namespace {

// The least advice that formats as more than "0" (shed_advice.h), so that
// clients still follow it and report their delay: one call in a thousand.
constexpr double kLeastAdvice = 0.001;

double Utilisation(const CpuShedController::Window& window) {
  return window.cpu_seconds / (window.seconds * window.cpus);
}

// Whether most of the window's reports (`over` of them) say calls wait
// longer than a threshold, at this server: calls queue here only while its
// CPU is busy, and reported delays with the CPU under its target are the
// clients' own (a client short of CPU itself, a slow network), which
// holding calls back would not shorten.
bool QueuedHere(const CpuShedController::Window& window, int64_t over, double target_utilisation) {
  return over * 2 > window.delay_reports && Utilisation(window) >= target_utilisation;
}

// Averaged over a few windows: one window's arrivals scatter by several
// percent, as much as the rate's own step.
double Averaged(double average, double value) { return average > 0 ? average + 0.3 * (value - average) : value; }

}  // namespace

double CpuShedController::DelayAdvice(const Window& window) {
  const double demand = std::max(window.demand, static_cast<double>(window.calls)) / window.seconds;
  const double unreported =
      static_cast<double>(std::max<int64_t>(0, window.calls - window.delay_reports)) / window.seconds;
  demand_rate_ = Averaged(demand_rate_, demand);
  unreported_rate_ = Averaged(unreported_rate_, unreported);
  const double answered_rate = static_cast<double>(window.admitted) / window.seconds;
  const double utilisation = Utilisation(window);
  if (allowed_rate_ <= 0) {
    // What the CPU-sized advice let in, or, if more, what the server
    // answered: the CPU-sized advice can start far too deep (a backlog's
    // window sizes it for the drain target), and climbing back from there
    // by delay_growth would take seconds.
    allowed_rate_ = std::max((1 - advice_) * demand_rate_, options_.delay_drain * answered_rate);
  } else if (QueuedHere(window, window.delayed_reports, options_.target_utilisation)) {
    allowed_rate_ = options_.delay_drain * answered_rate;
  } else if (utilisation < options_.target_utilisation) {
    // Headroom: what the CPU affords at what answering costs now, so that
    // an overload's end gives the calls back within a few windows.
    allowed_rate_ = std::max(allowed_rate_ * options_.delay_growth,
                             answered_rate * options_.target_utilisation / std::max(utilisation, 0.01));
  } else {
    allowed_rate_ *= options_.delay_growth;
  }
  // Never below what max_share lets in, nor above the demand.
  allowed_rate_ = std::clamp(allowed_rate_, (1 - options_.max_share) * demand_rate_, demand_rate_);
  // The clients that report nothing refuse nothing either: the others
  // refuse for them too.
  const double reporting_demand = demand_rate_ - unreported_rate_;
  const double advice =
      reporting_demand > 0
          ? std::clamp(1.0 - (allowed_rate_ - unreported_rate_) / reporting_demand, 0.0,
                       std::min(options_.max_share, kMaxAdvisedShare))
          : 0;
  if (advice >= kLeastAdvice) return advice;
  // Everything fits. While the CPU still reads over its target (as it does
  // well short of the most answers), the CPU-sized controller would come
  // straight back and refuse or advise on it: keep the least advice that
  // the clients still report their delay on, so the delay keeps deciding.
  return utilisation >= options_.target_utilisation ? kLeastAdvice : 0;
}

namespace {

// Up at once (a backlog grows while the share is short), down by halves
// (one quiet window is not the end of an overload).
double Smoothed(double previous, double needed) {
  const double next = needed >= previous ? needed : (previous + needed) / 2;
  return next < 0.005 ? 0 : next;
}

}  // namespace

void CpuShedController::Observe(const Window& window) {
  if (!std::isfinite(window.seconds) || !std::isfinite(window.cpu_seconds) || !std::isfinite(window.work_seconds) ||
      !std::isfinite(window.cpus) || !std::isfinite(window.demand) || !std::isfinite(window.queue_delay)) {
    return;
  }
  const int64_t enough_reports =
      sizing_on_delay() ? std::max<int64_t>(1, options_.min_delay_reports / 4) : options_.min_delay_reports;
  if (advice_ > 0 && window.delay_reports >= enough_reports && window.seconds > 0 && window.cpus > 0 &&
      window.calls > 0) {
    // Only a queue that the advice does not hold is refused here.
    const double needed_share =
        QueuedHere(window, window.long_delayed_reports, options_.target_utilisation) ? CpuShare(window) : 0;
    share_ = Smoothed(share_, needed_share);
    advice_ = DelayAdvice(window);
  } else {
    allowed_rate_ = 0;
    demand_rate_ = 0;
    unreported_rate_ = 0;
    // Both from the same window, before either changes: NeededAdvice reads
    // advice_, NeededShare share_.
    const double needed_share = NeededShare(window);
    const double needed_advice = NeededAdvice(window);
    share_ = Smoothed(share_, needed_share);
    advice_ = Smoothed(advice_, needed_advice);
  }
  threshold_.store(static_cast<uint32_t>(share_ * 4294967295.0), std::memory_order_relaxed);
  advised_.store(advice_, std::memory_order_relaxed);
}

}  // namespace easymoney
