#ifndef EASYMONEY_CORE_UTIL_SHA256_H_
#define EASYMONEY_CORE_UTIL_SHA256_H_

#include <memory>
#include <string>

#include "absl/strings/string_view.h"

struct evp_md_ctx_st;

namespace easymoney {

// Lower-case hex SHA-256 of `bytes`, as `sha256sum` prints it. Thread-safe.
std::string Sha256Hex(absl::string_view bytes);

// Incremental SHA-256, for hashing a file while it is read in chunks (so a
// large array is hashed while its bytes are still in cache, in one pass).
// Thread-compatible: one hasher per thread.
class Sha256Hasher {
 public:
  Sha256Hasher();
  ~Sha256Hasher();
  Sha256Hasher(const Sha256Hasher&) = delete;
  Sha256Hasher& operator=(const Sha256Hasher&) = delete;

  void Update(const void* data, size_t size);
  // Lower-case hex digest of everything passed to Update; call once.
  std::string FinishHex();

 private:
  struct Deleter {
    void operator()(evp_md_ctx_st* context) const;
  };
  std::unique_ptr<evp_md_ctx_st, Deleter> context_;
};

}  // namespace easymoney

#endif  // EASYMONEY_CORE_UTIL_SHA256_H_
