// libFuzzer target: the .npy reader (core/model/npy.cc) on arbitrary bytes.
//
// ParseNpyHeader, ParseNpy<T> for every dtype and ReadNpyInto on the same
// bytes as a file must agree; a header is accepted only when the data after
// it is exactly what its shape needs, ReadNpyInto asks for memory only for
// such a header, and what is accepted survives a round trip through the
// writer (SerializeNpy). Error messages stay printable ASCII.

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/model/npy.h"
#include "core/util/sha256.h"
#include "tests/fuzz/fuzz_check.h"

namespace easymoney {
namespace {

// memcmp that accepts the null data() of an empty vector.
bool SameBytes(const void* a, const void* b, size_t size) { return size == 0 || std::memcmp(a, b, size) == 0; }

template <typename T>
void CheckParseAs(absl::string_view bytes, const absl::StatusOr<NpyHeader>& header) {
  absl::StatusOr<NpyArray<T>> array = ParseNpy<T>(bytes, "fuzz.npy");
  FUZZ_CHECK(array.ok() == (header.ok() && header->dtype == NpyDtypeOf<T>()));
  if (!array.ok()) {
    FUZZ_CHECK(fuzz::IsPrintableText(array.status().message()));
    return;
  }
  FUZZ_CHECK(array->shape == header->shape);
  FUZZ_CHECK(static_cast<int64_t>(array->data.size()) == header->num_elements());
  FUZZ_CHECK(SameBytes(array->data.data(), bytes.data() + header->data_offset, array->data.size() * sizeof(T)));
  // The writer's bytes for the same array read back to the same array.
  const std::string again = SerializeNpy<T>(array->shape, array->data);
  absl::StatusOr<NpyArray<T>> back = ParseNpy<T>(again, "again.npy");
  FUZZ_CHECK(back.ok());
  FUZZ_CHECK(back->shape == array->shape);
  FUZZ_CHECK(SameBytes(back->data.data(), array->data.data(), array->data.size() * sizeof(T)));
}

// An in-memory regular file that ReadNpyInto opens by path, rewritten for
// each input (no disk, nothing left behind).
const std::string& ScratchFile(absl::string_view bytes) {
  static const int fd = memfd_create("npy_fuzzer", MFD_CLOEXEC);
  static const std::string path = absl::StrCat("/proc/self/fd/", fd);
  FUZZ_CHECK(fd >= 0);
  FUZZ_CHECK(ftruncate(fd, 0) == 0);
  FUZZ_CHECK(pwrite(fd, bytes.data(), bytes.size(), 0) == static_cast<ssize_t>(bytes.size()));
  return path;
}

void CheckReadFromFile(absl::string_view bytes, const absl::StatusOr<NpyHeader>& header) {
  const NpyDtype dtype = header.ok() ? header->dtype : NpyDtype::kFloat32;
  std::vector<char> storage;
  bool allocated = false;
  std::string sha256;
  absl::StatusOr<NpyHeader> read = ReadNpyInto(
      ScratchFile(bytes), "fuzz.npy", dtype,
      [&](const NpyHeader& claimed) -> void* {
        // Memory is asked for only once the header is known to describe
        // exactly the bytes that follow it.
        FUZZ_CHECK(claimed.data_offset + static_cast<size_t>(claimed.num_elements()) * NpyItemSize(claimed.dtype) ==
                   bytes.size());
        allocated = true;
        storage.resize(static_cast<size_t>(claimed.num_elements()) * NpyItemSize(claimed.dtype));
        return storage.data();
      },
      &sha256);
  // A file's header is read from its first 64 KiB; in memory there is no
  // such bound, so the two agree on inputs below it.
  if (bytes.size() <= kNpyMaxHeaderBytes) FUZZ_CHECK(read.ok() == header.ok());
  if (!read.ok()) {
    FUZZ_CHECK(fuzz::IsPrintableText(read.status().message()));
    return;
  }
  FUZZ_CHECK(allocated);
  FUZZ_CHECK(read->shape == header->shape && read->data_offset == header->data_offset);
  FUZZ_CHECK(SameBytes(storage.data(), bytes.data() + read->data_offset, storage.size()));
  FUZZ_CHECK(sha256 == Sha256Hex(bytes));
}

}  // namespace
}  // namespace easymoney

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace easymoney;
  const absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  const absl::StatusOr<NpyHeader> header = ParseNpyHeader(bytes, "fuzz.npy");
  if (header.ok()) {
    FUZZ_CHECK(header->shape.size() <= 2);
    int64_t elements = 1;
    for (int64_t dim : header->shape) {
      FUZZ_CHECK(dim >= 0 && dim <= kNpyMaxDimension);
      elements *= dim;
    }
    FUZZ_CHECK(elements == header->num_elements() && elements <= kNpyMaxElements);
    FUZZ_CHECK(header->data_offset <= size);
    FUZZ_CHECK(header->data_offset + static_cast<size_t>(elements) * NpyItemSize(header->dtype) == size);
  } else {
    FUZZ_CHECK(fuzz::IsPrintableText(header.status().message()));
  }
  CheckParseAs<float>(bytes, header);
  CheckParseAs<int32_t>(bytes, header);
  CheckParseAs<int64_t>(bytes, header);
  CheckParseAs<uint8_t>(bytes, header);
  CheckReadFromFile(bytes, header);
  return 0;
}
