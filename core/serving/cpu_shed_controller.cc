#include "core/serving/cpu_shed_controller.h"

#include <algorithm>
#include <cmath>

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

// Up at once (a backlog grows while the share is short), down by halves
// (one quiet window is not the end of an overload).
double Smoothed(double previous, double needed) {
  const double next = needed >= previous ? needed : (previous + needed) / 2;
  return next < 0.005 ? 0 : next;
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

void CpuShedController::Observe(const Window& window) {
  if (!std::isfinite(window.seconds) || !std::isfinite(window.cpu_seconds) || !std::isfinite(window.work_seconds) ||
      !std::isfinite(window.cpus)) {
    return;
  }
  share_ = Smoothed(share_, NeededShare(window));
  threshold_.store(static_cast<uint32_t>(share_ * 4294967295.0), std::memory_order_relaxed);
}

}  // namespace easymoney
