#ifndef EASYMONEY_CORE_MODEL_NPY_H_
#define EASYMONEY_CORE_MODEL_NPY_H_

// Reading and writing NumPy .npy files (format versions 1.0 and 2.0), the
// array format of a model version (docs/model-format.md).
//
// Only what a model version needs is supported: little-endian float32, int32,
// int64 and uint8, C order, up to 2 dimensions. Everything else is refused
// with a message that says what was found, so that a data scientist who wrote
// a file from Python knows what to change.
//
//   auto factors = ReadNpy<float>("models/3/product_factors.npy");
//   if (!factors.ok()) return factors.status();
//   float first = factors->data[0];

#include <cstdint>
#include <span>
#include <string>

#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/strings/string_view.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/util/file_io.h"

namespace easymoney {

enum class NpyDtype { kFloat32, kInt32, kInt64, kUint8 };

// The descr string numpy writes for each dtype, e.g. "<f4".
absl::string_view NpyDescr(NpyDtype dtype);
// Bytes per element.
size_t NpyItemSize(NpyDtype dtype);

// What the parser accepts: bounds far above any real model but low enough
// that products of dimensions cannot overflow int64 and a lying header
// cannot make a reader allocate the world. Headers read from a file are at
// most kNpyMaxHeaderBytes.
inline constexpr int64_t kNpyMaxDimension = int64_t{1} << 34;
inline constexpr int64_t kNpyMaxElements = int64_t{1} << 36;
inline constexpr uint64_t kNpyMaxHeaderBytes = 64 * 1024;

template <typename T>
constexpr NpyDtype NpyDtypeOf();
template <>
constexpr NpyDtype NpyDtypeOf<float>() { return NpyDtype::kFloat32; }
template <>
constexpr NpyDtype NpyDtypeOf<int32_t>() { return NpyDtype::kInt32; }
template <>
constexpr NpyDtype NpyDtypeOf<int64_t>() { return NpyDtype::kInt64; }
template <>
constexpr NpyDtype NpyDtypeOf<uint8_t>() { return NpyDtype::kUint8; }

struct NpyHeader {
  NpyDtype dtype;
  std::vector<int64_t> shape;  // Empty for a scalar.
  size_t data_offset;          // Bytes from the start of the file to the data.
  int64_t num_elements() const;
};

// Parses the header at the start of `file_bytes`. Checks the magic, version,
// dtype, order and that the shape's data fits in `file_bytes` exactly.
// `name` only labels error messages.
absl::StatusOr<NpyHeader> ParseNpyHeader(absl::string_view file_bytes, absl::string_view name);

// The header of the .npy file at `path`, checked as ParseNpyHeader does
// against the file's size, without reading the data. `name` labels errors.
absl::StatusOr<NpyHeader> ReadNpyHeader(const std::string& path, absl::string_view name);

// Lower-case hex SHA-256 of the file at `path`, read in chunks: memory
// stays bounded whatever the file's size.
absl::StatusOr<std::string> Sha256HexOfFile(const std::string& path);

// Reads the .npy file at `path` straight into memory the caller provides: once
// the header is parsed and checked (dtype must be `dtype`, data size must
// match the file's size), `allocate(header)` returns where the
// num_elements() values go. Every byte of the file is hashed on the way, so
// checking a checksum costs no second pass; the hex SHA-256 goes to
// `sha256_hex` when it is not null. A lying header cannot make the caller
// allocate more than the file holds. `name` labels error messages.
// Errors: NOT_FOUND for a missing file, INVALID_ARGUMENT otherwise.
absl::StatusOr<NpyHeader> ReadNpyInto(const std::string& path, absl::string_view name, NpyDtype dtype,
                                      absl::FunctionRef<void*(const NpyHeader&)> allocate,
                                      std::string* sha256_hex);

// An array read into memory. Value type; thread-compatible.
template <typename T>
struct NpyArray {
  std::vector<int64_t> shape;
  std::vector<T> data;  // C order.
  int64_t rows() const { return shape.empty() ? 1 : shape[0]; }
  int64_t cols() const { return shape.size() < 2 ? 1 : shape[1]; }
};

// Parses a whole .npy file held in memory; the dtype must match T.
template <typename T>
absl::StatusOr<NpyArray<T>> ParseNpy(absl::string_view file_bytes, absl::string_view name);

// Reads `path`; the dtype must match T. Errors: NOT_FOUND for a missing file,
// INVALID_ARGUMENT (naming the file) for anything malformed.
template <typename T>
absl::StatusOr<NpyArray<T>> ReadNpy(const std::string& path);

// Serialises an array as a version 1.0 .npy file. The header is padded so the
// data starts on a 64-byte boundary, as numpy does.
template <typename T>
std::string SerializeNpy(std::span<const int64_t> shape, std::span<const T> data);

// Writes `path` (replacing it) and flushes it to disk.
template <typename T>
absl::Status WriteNpy(const std::string& path, std::span<const int64_t> shape,
                      std::span<const T> data);

}  // namespace easymoney

#endif  // EASYMONEY_CORE_MODEL_NPY_H_
