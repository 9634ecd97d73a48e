// Tells ThreadSanitizer what absl::Mutex, absl::CondVar and
// absl::Notification do, for the -DRECOMMENDER_SANITIZE=thread build only
// (linked into every executable by the top-level CMakeLists.txt).
//
// Why: Debian's Abseil is not built with -fsanitize=thread, and these
// classes are implemented out of line in libabsl_synchronization.so with
// atomics and futexes that TSan cannot see. Unannotated, two threads taking
// the same absl::Mutex in turn do not happen-before each other, and TSan
// reports every access to ABSL_GUARDED_BY data as a race: four threads
// incrementing a counter under absl::MutexLock are reported, and so are
// hand-offs through absl::Notification and absl::CondVar. TSan suppressions
// cannot fix this: the racing accesses are in our code (a `race:`
// suppression would hide real races too), and `called_from_lib:` or
// ignore_noninstrumented_modules only silence what the library itself does.
// An Abseil compiled with TSan annotates these calls itself with the
// __tsan_mutex_* interface (absl/base/internal/tsan_mutex_interface.h);
// this file does the same from outside.
//
// How: the executable defines the exported member functions, so the dynamic
// linker binds every caller to them (our code, gRPC, and Abseil's own calls,
// which go through the PLT); each definition annotates and calls the real
// function found with dlsym(RTLD_NEXT). Only the outermost call of a thread
// is annotated: Abseil implements some of these with others (Await*WithTimeout
// calls the *WithDeadline form, Notification takes its Mutex), and those
// inner calls reach the definitions here too. Only synchronization is modelled:
// every memory access of our code is still checked, so no race in our code
// is hidden. Not modelled: Await or CondVar::Wait while holding a reader
// lock (this codebase waits only under exclusive locks) and
// Notification::HasBeenNotified, which is inline.
//
// Thread-safe, as the functions it stands in for.

#include <dlfcn.h>
#include <sanitizer/tsan_interface.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/base/options.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

#if !defined(__SANITIZE_THREAD__)
#error "tsan_absl_sync.cc is only for -fsanitize=thread builds"
#endif

namespace {

#define TSAN_ABSL_STRINGIFY_INNER(x) #x
#define TSAN_ABSL_STRINGIFY(x) TSAN_ABSL_STRINGIFY_INNER(x)

// The real function of libabsl_synchronization.so. `nested_name` is the
// Itanium-mangled name after the inline namespace, e.g. "5Mutex4LockEv";
// `prefix` is "_ZN" or, for const members, "_ZNK".
template <typename Function>
Function Real(const char* prefix, const char* nested_name) {
  const std::string inline_namespace = TSAN_ABSL_STRINGIFY(ABSL_OPTION_INLINE_NAMESPACE_NAME);
  const std::string symbol = std::string(prefix) + "4absl" + std::to_string(inline_namespace.size()) +
                             inline_namespace + nested_name;
  void* address = dlsym(RTLD_NEXT, symbol.c_str());
  if (address == nullptr) {
    std::fprintf(stderr, "tsan_absl_sync: %s not found in the loaded Abseil: %s\n", symbol.c_str(), dlerror());
    std::abort();
  }
  return reinterpret_cast<Function>(address);
}

#define REAL(type, prefix, name) static const auto real = Real<type>(prefix, name)

using Void = void (*)(void*);
using Bool = bool (*)(void*);
using Cond = void (*)(void*, const absl::Condition&);
using CondDuration = bool (*)(void*, const absl::Condition&, absl::Duration);
using CondTime = bool (*)(void*, const absl::Condition&, absl::Time);

constexpr unsigned kRead = __tsan_mutex_read_lock;
constexpr unsigned kTry = __tsan_mutex_try_lock;
constexpr unsigned kTryFailed = __tsan_mutex_try_lock_failed;

// How many of the functions below this thread is inside.
thread_local int nesting = 0;

// True for the outermost of the functions below on this thread's stack.
class Outermost {
 public:
  Outermost() : outermost_(nesting++ == 0) {}
  ~Outermost() { --nesting; }
  Outermost(const Outermost&) = delete;
  Outermost& operator=(const Outermost&) = delete;
  explicit operator bool() const { return outermost_; }

 private:
  const bool outermost_;
};

// Runs `lock`, which takes `mu` in the mode of `flags` (kRead or 0).
template <typename Lock>
auto Locking(const void* mu, unsigned flags, Lock lock) {
  void* address = const_cast<void*>(mu);
  const Outermost outermost;
  if (outermost) __tsan_mutex_pre_lock(address, flags);
  auto result = lock();
  if (outermost) __tsan_mutex_post_lock(address, flags, 0);
  return result;
}

// Runs `try_lock`, which returns whether it took `mu`.
template <typename TryLock>
bool TryLocking(void* mu, unsigned flags, TryLock try_lock) {
  const Outermost outermost;
  if (outermost) __tsan_mutex_pre_lock(mu, flags | kTry);
  const bool locked = try_lock();
  if (outermost) __tsan_mutex_post_lock(mu, locked ? flags | kTry : flags | kTry | kTryFailed, 0);
  return locked;
}

// Runs `unlock`, which releases `mu` held in the mode of `flags`.
template <typename Unlock>
void Unlocking(void* mu, unsigned flags, Unlock unlock) {
  const Outermost outermost;
  if (outermost) __tsan_mutex_pre_unlock(mu, flags);
  unlock();
  if (outermost) __tsan_mutex_post_unlock(mu, flags);
}

// Runs `wait`, which releases `mu` (held exclusively) and holds it again on
// return.
template <typename Wait>
auto ReleasingWhileWaiting(void* mu, Wait wait) {
  const Outermost outermost;
  if (outermost) {
    __tsan_mutex_pre_unlock(mu, 0);
    __tsan_mutex_post_unlock(mu, 0);
    __tsan_mutex_pre_lock(mu, 0);
  }
  auto result = wait();
  if (outermost) __tsan_mutex_post_lock(mu, 0, 0);
  return result;
}

}  // namespace

namespace absl {
ABSL_NAMESPACE_BEGIN

Mutex::~Mutex() {
  REAL(Void, "_ZN", "5MutexD1Ev");
  real(this);
  __tsan_mutex_destroy(this, __tsan_mutex_not_static);
}

void Mutex::Lock() {
  REAL(Void, "_ZN", "5Mutex4LockEv");
  Locking(this, 0, [&] { return (real(this), 0); });
}

void Mutex::ReaderLock() {
  REAL(Void, "_ZN", "5Mutex10ReaderLockEv");
  Locking(this, kRead, [&] { return (real(this), 0); });
}

bool Mutex::TryLock() {
  REAL(Bool, "_ZN", "5Mutex7TryLockEv");
  return TryLocking(this, 0, [&] { return real(this); });
}

bool Mutex::ReaderTryLock() {
  REAL(Bool, "_ZN", "5Mutex13ReaderTryLockEv");
  return TryLocking(this, kRead, [&] { return real(this); });
}

void Mutex::Unlock() {
  REAL(Void, "_ZN", "5Mutex6UnlockEv");
  Unlocking(this, 0, [&] { real(this); });
}

void Mutex::ReaderUnlock() {
  REAL(Void, "_ZN", "5Mutex12ReaderUnlockEv");
  Unlocking(this, kRead, [&] { real(this); });
}

void Mutex::LockWhen(const Condition& cond) {
  REAL(Cond, "_ZN", "5Mutex8LockWhenERKNS0_9ConditionE");
  Locking(this, 0, [&] { return (real(this, cond), 0); });
}

void Mutex::ReaderLockWhen(const Condition& cond) {
  REAL(Cond, "_ZN", "5Mutex14ReaderLockWhenERKNS0_9ConditionE");
  Locking(this, kRead, [&] { return (real(this, cond), 0); });
}

// The *WithTimeout and *WithDeadline forms hold the lock on return either way.
bool Mutex::LockWhenWithTimeout(const Condition& cond, absl::Duration timeout) {
  REAL(CondDuration, "_ZN", "5Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  return Locking(this, 0, [&] { return real(this, cond, timeout); });
}

bool Mutex::LockWhenWithDeadline(const Condition& cond, absl::Time deadline) {
  REAL(CondTime, "_ZN", "5Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  return Locking(this, 0, [&] { return real(this, cond, deadline); });
}

bool Mutex::ReaderLockWhenWithTimeout(const Condition& cond, absl::Duration timeout) {
  REAL(CondDuration, "_ZN", "5Mutex25ReaderLockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  return Locking(this, kRead, [&] { return real(this, cond, timeout); });
}

bool Mutex::ReaderLockWhenWithDeadline(const Condition& cond, absl::Time deadline) {
  REAL(CondTime, "_ZN", "5Mutex26ReaderLockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  return Locking(this, kRead, [&] { return real(this, cond, deadline); });
}

void Mutex::Await(const Condition& cond) {
  REAL(Cond, "_ZN", "5Mutex5AwaitERKNS0_9ConditionE");
  ReleasingWhileWaiting(this, [&] { return (real(this, cond), 0); });
}

bool Mutex::AwaitWithTimeout(const Condition& cond, absl::Duration timeout) {
  REAL(CondDuration, "_ZN", "5Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  return ReleasingWhileWaiting(this, [&] { return real(this, cond, timeout); });
}

bool Mutex::AwaitWithDeadline(const Condition& cond, absl::Time deadline) {
  REAL(CondTime, "_ZN", "5Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  return ReleasingWhileWaiting(this, [&] { return real(this, cond, deadline); });
}

void CondVar::Wait(Mutex* mu) {
  using Function = void (*)(void*, Mutex*);
  REAL(Function, "_ZN", "7CondVar4WaitEPNS0_5MutexE");
  ReleasingWhileWaiting(mu, [&] { return (real(this, mu), 0); });
}

bool CondVar::WaitWithTimeout(Mutex* mu, absl::Duration timeout) {
  using Function = bool (*)(void*, Mutex*, absl::Duration);
  REAL(Function, "_ZN", "7CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE");
  return ReleasingWhileWaiting(mu, [&] { return real(this, mu, timeout); });
}

bool CondVar::WaitWithDeadline(Mutex* mu, absl::Time deadline) {
  using Function = bool (*)(void*, Mutex*, absl::Time);
  REAL(Function, "_ZN", "7CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE");
  return ReleasingWhileWaiting(mu, [&] { return real(this, mu, deadline); });
}

// A notification is a release by Notify() and an acquire by a wait that saw
// it (the waits return at once, without taking the mutex, once notified).
void Notification::Notify() {
  REAL(Void, "_ZN", "12Notification6NotifyEv");
  const Outermost outermost;
  if (outermost) __tsan_release(this);
  real(this);
}

void Notification::WaitForNotification() const {
  using Function = void (*)(const void*);
  REAL(Function, "_ZNK", "12Notification19WaitForNotificationEv");
  const Outermost outermost;
  real(this);
  if (outermost) __tsan_acquire(const_cast<Notification*>(this));
}

bool Notification::WaitForNotificationWithTimeout(absl::Duration timeout) const {
  using Function = bool (*)(const void*, absl::Duration);
  REAL(Function, "_ZNK", "12Notification30WaitForNotificationWithTimeoutENS0_8DurationE");
  const Outermost outermost;
  const bool notified = real(this, timeout);
  if (outermost && notified) __tsan_acquire(const_cast<Notification*>(this));
  return notified;
}

bool Notification::WaitForNotificationWithDeadline(absl::Time deadline) const {
  using Function = bool (*)(const void*, absl::Time);
  REAL(Function, "_ZNK", "12Notification31WaitForNotificationWithDeadlineENS0_4TimeE");
  const Outermost outermost;
  const bool notified = real(this, deadline);
  if (outermost && notified) __tsan_acquire(const_cast<Notification*>(this));
  return notified;
}

ABSL_NAMESPACE_END
}  // namespace absl
