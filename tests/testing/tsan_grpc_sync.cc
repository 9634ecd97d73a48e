// Tells ThreadSanitizer how gRPC's completion queues hand an operation from
// the thread that starts it to the thread that sees it complete, for the
// -DRECOMMENDER_SANITIZE=thread build only (linked into every executable by
// the top-level CMakeLists.txt, beside tsan_absl_sync.cc).
//
// Why: gRPC's C++ layer is header code compiled into our binaries (and so
// instrumented), while the C core that carries its operations between
// threads is Debian's uninstrumented libgrpc.so. A handler's reactor starts
// a batch with grpc_call_start_batch() on one thread, and the completion
// queue's thread ("nexting_thread") takes the completed tag from
// grpc_completion_queue_next() and runs the C++ callback, which touches the
// same CallOpSet, tag and reactor objects; the atomics in between are
// invisible, and TSan reports each of those touches as a race inside gRPC.
// An instrumented gRPC would show TSan that queueing a tag happens before
// the tag is returned; this file says so at the C API, the one boundary
// every such hand-off crosses.
//
// How: as in tsan_absl_sync.cc, the executable defines the exported C
// functions, the dynamic linker binds libgrpc++.so's and our calls to them,
// and each calls the real one (dlsym(RTLD_NEXT)):
//   grpc_call_start_batch, grpc_server_request_call,
//   grpc_server_request_registered_call   release on the tag
//   grpc_completion_queue_next, _pluck     acquire on the tag they return
// and, for the callback API's end of a call:
//   ServerCallbackCall::ScheduleOnDone     acquire on the call's count of
//                                          outstanding callbacks
// ScheduleOnDone is how gRPC runs a reactor's OnDone once that count drops
// to zero. The count is decremented in header code (instrumented: each
// decrement is a release TSan sees) but, on a cancelled call, also inside
// libgrpc++.so (ServerCallbackCall::CallOnCancel), so the decrement that
// reaches zero, whose acquire orders the teardown after every earlier
// callback, may be one TSan cannot see. The acquire here stands in for it.
// Nothing else is ordered, so races between our threads are still found.
//
// Thread-safe, as the functions it stands in for.

#include <dlfcn.h>
#include <grpc/grpc.h>
#include <grpcpp/support/server_callback.h>
#include <sanitizer/tsan_interface.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>

#if !defined(__SANITIZE_THREAD__)
#error "tsan_grpc_sync.cc is only for -fsanitize=thread builds"
#endif

namespace {

template <typename Function>
Function Real(const char* symbol) {
  void* address = dlsym(RTLD_NEXT, symbol);
  if (address == nullptr) {
    std::fprintf(stderr, "tsan_grpc_sync: %s not found in the loaded gRPC: %s\n", symbol, dlerror());
    std::abort();
  }
  return reinterpret_cast<Function>(address);
}

void AcquireCompleted(const grpc_event& event) {
  if (event.type == GRPC_OP_COMPLETE && event.tag != nullptr) __tsan_acquire(event.tag);
}

// ServerCallbackCall::callbacks_outstanding_ is private. An explicit
// instantiation may name a private member ([temp.spec.general]), so the
// instantiation below defines Member() to return a pointer to it.
using CallbackCount = std::atomic_int grpc::internal::ServerCallbackCall::*;
struct CallbackCountTag {
  friend CallbackCount Member(CallbackCountTag);
};
template <CallbackCount kMember>
struct CallbackCountAccess {
  friend CallbackCount Member(CallbackCountTag) { return kMember; }
};
template struct CallbackCountAccess<&grpc::internal::ServerCallbackCall::callbacks_outstanding_>;

}  // namespace

namespace grpc::internal {

void ServerCallbackCall::ScheduleOnDone(bool inline_ondone) {
  using Function = void (*)(ServerCallbackCall*, bool);
  static const auto real = Real<Function>("_ZN4grpc8internal18ServerCallbackCall14ScheduleOnDoneEb");
  __tsan_acquire(&(this->*Member(CallbackCountTag{})));
  real(this, inline_ondone);
}

}  // namespace grpc::internal

extern "C" {

grpc_call_error grpc_call_start_batch(grpc_call* call, const grpc_op* ops, size_t nops, void* tag,
                                      void* reserved) {
  static const auto real = Real<decltype(&grpc_call_start_batch)>("grpc_call_start_batch");
  if (tag != nullptr) __tsan_release(tag);
  return real(call, ops, nops, tag, reserved);
}

grpc_call_error grpc_server_request_call(grpc_server* server, grpc_call** call, grpc_call_details* details,
                                         grpc_metadata_array* request_metadata,
                                         grpc_completion_queue* cq_bound_to_call,
                                         grpc_completion_queue* cq_for_notification, void* tag_new) {
  static const auto real = Real<decltype(&grpc_server_request_call)>("grpc_server_request_call");
  if (tag_new != nullptr) __tsan_release(tag_new);
  return real(server, call, details, request_metadata, cq_bound_to_call, cq_for_notification, tag_new);
}

grpc_call_error grpc_server_request_registered_call(grpc_server* server, void* registered_method, grpc_call** call,
                                                    gpr_timespec* deadline, grpc_metadata_array* request_metadata,
                                                    grpc_byte_buffer** optional_payload,
                                                    grpc_completion_queue* cq_bound_to_call,
                                                    grpc_completion_queue* cq_for_notification, void* tag_new) {
  static const auto real =
      Real<decltype(&grpc_server_request_registered_call)>("grpc_server_request_registered_call");
  if (tag_new != nullptr) __tsan_release(tag_new);
  return real(server, registered_method, call, deadline, request_metadata, optional_payload, cq_bound_to_call,
              cq_for_notification, tag_new);
}

grpc_event grpc_completion_queue_next(grpc_completion_queue* cq, gpr_timespec deadline, void* reserved) {
  static const auto real = Real<decltype(&grpc_completion_queue_next)>("grpc_completion_queue_next");
  const grpc_event event = real(cq, deadline, reserved);
  AcquireCompleted(event);
  return event;
}

grpc_event grpc_completion_queue_pluck(grpc_completion_queue* cq, void* tag, gpr_timespec deadline,
                                       void* reserved) {
  static const auto real = Real<decltype(&grpc_completion_queue_pluck)>("grpc_completion_queue_pluck");
  const grpc_event event = real(cq, tag, deadline, reserved);
  AcquireCompleted(event);
  return event;
}

}  // extern "C"
