#include "core/cpu_shed_controller.h"

#include <algorithm>
#include <cmath>

namespace easymoney {

void CpuShedController::Observe(double utilisation, double work_share) {
  if (!std::isfinite(utilisation) || !std::isfinite(work_share)) return;
  if (utilisation >= options_.saturated_utilisation && work_share >= options_.min_work_share) {
    share_ = std::min(options_.max_share, share_ + options_.raise_step);
  } else {
    // Room on the CPU, or refusing does not pay for itself: give calls back.
    share_ = std::max(0.0, share_ - options_.lower_step);
  }
  threshold_.store(static_cast<uint32_t>(std::min(share_, 1.0) * 4294967295.0), std::memory_order_relaxed);
}

}  // namespace easymoney
