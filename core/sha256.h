#ifndef EASYMONEY_CORE_SHA256_H_
#define EASYMONEY_CORE_SHA256_H_

#include <string>

#include "absl/strings/string_view.h"


namespace easymoney {

// Lower-case hex SHA-256 of `bytes`, as `sha256sum` prints it. Thread-safe.
std::string Sha256Hex(absl::string_view bytes);

}  // namespace easymoney

#endif  // EASYMONEY_CORE_SHA256_H_
