#include "core/serving/admission.h"

#include <chrono>
#include <cmath>
#include <functional>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"

namespace easymoney {
namespace {

// Per-thread draws for the shed share: no lock, no allocation.
uint32_t ThreadDraw() {
  thread_local std::mt19937 random(std::random_device{}() ^
                                   static_cast<uint32_t>(std::hash<std::thread::id>{}(std::this_thread::get_id())));
  return static_cast<uint32_t>(random());
}

}  // namespace

absl::Status Admission::Admit() {
  if (cpu_shed_ != nullptr) {
    calls_.fetch_add(1, std::memory_order_relaxed);
    if (cpu_shed_->ShouldShed(ThreadDraw())) {
      return absl::ResourceExhaustedError(absl::StrCat("overloaded: the server's CPU is saturated, refusing ",
                                                       std::lround(cpu_shed_->shed_share() * 100),
                                                       "% of calls; retry with backoff"));
    }
  }
  const int64_t running = in_flight_.fetch_add(1, std::memory_order_relaxed);
  if (max_in_flight_ > 0 && OverLimit(running)) {
    // Shedding before any work: a refusal that costs microseconds keeps the
    // calls already admitted fast, where queueing all of them would make
    // every one slow. A refused call does not hold a slot while its answer
    // waits to be sent: if it did, a backlog of refusals would keep refusing
    // everything.
    in_flight_.fetch_sub(1, std::memory_order_relaxed);
    return absl::ResourceExhaustedError(absl::StrCat("overloaded: ", running, " calls in flight (limit ",
                                                     max_in_flight_, "); retry with backoff"));
  }
  if (cpu_shed_ != nullptr) admitted_.fetch_add(1, std::memory_order_relaxed);
  return absl::OkStatus();
}

bool Admission::OverLimit(int64_t running) {
  if (running < max_in_flight_) {
    if (over_limit_since_ns_.load(std::memory_order_relaxed) != 0) {
      over_limit_since_ns_.store(0, std::memory_order_relaxed);
    }
    return false;
  }
  const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
  int64_t since = over_limit_since_ns_.load(std::memory_order_relaxed);
  if (since == 0 && over_limit_since_ns_.compare_exchange_strong(since, now, std::memory_order_relaxed)) since = now;
  return now - since >= overload_grace_ns_;
}

}  // namespace easymoney
