#include "core/serving/admission.h"

#include <thread>

#include "absl/status/status.h"
#include "core/serving/cpu_shed_controller.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace easymoney {
namespace {

using ::testing::HasSubstr;

TEST(AdmissionTest, AdmitsEverythingWithoutLimits) {
  Admission admission({});
  for (int i = 0; i < 10000; ++i) ASSERT_TRUE(admission.Admit().ok());
  EXPECT_EQ(admission.in_flight(), 10000);
  for (int i = 0; i < 10000; ++i) admission.Release();
  EXPECT_EQ(admission.in_flight(), 0);
}

// A burst at the limit is let through while it lasts less than the grace.
TEST(AdmissionTest, ABurstWithinTheGraceIsAdmitted) {
  Admission admission({.max_in_flight = 2, .overload_grace = absl::Hours(1)});
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(admission.Admit().ok()) << "call " << i;
}

TEST(AdmissionTest, RefusesBeyondTheLimitOnceTheGraceHasPassed) {
  Admission admission({.max_in_flight = 2, .overload_grace = absl::ZeroDuration()});
  ASSERT_TRUE(admission.Admit().ok());
  ASSERT_TRUE(admission.Admit().ok());
  const absl::Status refused = admission.Admit();
  EXPECT_TRUE(absl::IsResourceExhausted(refused)) << refused;
  EXPECT_THAT(refused.message(), HasSubstr("2 calls in flight (limit 2); retry with backoff"));
  // A refused call holds no place.
  EXPECT_EQ(admission.in_flight(), 2);
  admission.Release();
  EXPECT_TRUE(admission.Admit().ok());
}

// The grace counts from when the limit was first reached without a break:
// dropping below it starts the count again.
TEST(AdmissionTest, TheGraceRestartsOnceTheCountDropsBelowTheLimit) {
  Admission admission({.max_in_flight = 1, .overload_grace = absl::Milliseconds(50)});
  ASSERT_TRUE(admission.Admit().ok());
  ASSERT_TRUE(admission.Admit().ok()) << "at the limit, within the grace";
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  EXPECT_TRUE(absl::IsResourceExhausted(admission.Admit())) << "at the limit past the grace";
  admission.Release();
  admission.Release();
  ASSERT_TRUE(admission.Admit().ok()) << "below the limit again";
  EXPECT_TRUE(admission.Admit().ok()) << "the grace starts afresh";
}

// A controller whose share was driven to its maximum (0.9) refuses most
// calls with its own message, and counts calls and admissions for the
// sampler.
TEST(AdmissionTest, CpuSheddingRefusesItsShareFirst) {
  CpuShedController controller({});
  CpuShedController::Window saturated;
  saturated.seconds = 0.1;
  saturated.cpus = 1;
  saturated.cpu_seconds = 0.1;
  saturated.calls = 100000;
  saturated.admitted = 100000;
  saturated.work_seconds = 10;  // 100 us of handler work per call: far more than the CPU has.
  controller.Observe(saturated);
  ASSERT_NEAR(controller.shed_share(), 0.9, 1e-6);
  Admission admission({.cpu_shed = &controller});
  int refused = 0;
  absl::Status refusal;
  for (int i = 0; i < 10000; ++i) {
    absl::Status status = admission.Admit();
    if (!status.ok()) {
      ++refused;
      refusal = status;
    }
  }
  EXPECT_NEAR(refused / 10000.0, 0.9, 0.03);
  EXPECT_TRUE(absl::IsResourceExhausted(refusal));
  EXPECT_THAT(refusal.message(), HasSubstr("CPU is saturated, refusing 90% of calls; retry with backoff"));
  const Admission::Counters counters = admission.counters();
  EXPECT_EQ(counters.calls, 10000);
  EXPECT_EQ(counters.admitted, 10000 - refused);
  EXPECT_EQ(admission.in_flight(), 10000 - refused);
}

TEST(AdmissionTest, CountsWorkOnlyWhileCpuSheddingIsOn) {
  Admission without({});
  without.AddWork(0.5);
  EXPECT_EQ(without.counters().work_nanos, 0);
  CpuShedController controller({});
  Admission with({.cpu_shed = &controller});
  with.AddWork(0.5);
  with.AddWork(0.25);
  EXPECT_EQ(with.counters().work_nanos, 750000000);
}

}  // namespace
}  // namespace easymoney
