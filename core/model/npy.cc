#include "absl/strings/string_view.h"
#include "core/model/npy.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstring>
#include <algorithm>
#include <limits>
#include <thread>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "core/util/file_io.h"
#include "core/util/sha256.h"

namespace easymoney {
namespace {

constexpr absl::string_view kMagic = "\x93NUMPY";

absl::StatusOr<NpyDtype> ParseDescr(absl::string_view descr, absl::string_view name) {
  if (descr == "<f4") return NpyDtype::kFloat32;
  if (descr == "<i4") return NpyDtype::kInt32;
  if (descr == "<i8") return NpyDtype::kInt64;
  if (descr == "|u1" || descr == "<u1") return NpyDtype::kUint8;
  return absl::InvalidArgumentError(
      absl::StrCat(name, ": unsupported dtype '", descr,
                   "' (supported: '<f4' float32, '<i4' int32, '<i8' int64, '|u1' uint8; "
                   "big-endian and other types are refused)"));
}

// Finds `'key':` in the header dict and returns the text after the colon.
absl::StatusOr<absl::string_view> ValueAfterKey(absl::string_view dict, absl::string_view key,
                                               absl::string_view name) {
  const std::string quoted = absl::StrCat("'", key, "'");
  const size_t at = dict.find(quoted);
  if (at == absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": header has no '", key, "' entry: ", dict));
  }
  absl::string_view rest = dict.substr(at + quoted.size());
  rest = absl::StripLeadingAsciiWhitespace(rest);
  if (!absl::ConsumePrefix(&rest, ":")) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": header entry '", key, "' has no ':' : ", dict));
  }
  return absl::StripLeadingAsciiWhitespace(rest);
}

}  // namespace

size_t NpyItemSize(NpyDtype dtype) {
  switch (dtype) {
    case NpyDtype::kFloat32:
    case NpyDtype::kInt32:
      return 4;
    case NpyDtype::kInt64:
      return 8;
    case NpyDtype::kUint8:
      return 1;
  }
  return 0;
}

absl::string_view NpyDescr(NpyDtype dtype) {
  switch (dtype) {
    case NpyDtype::kFloat32:
      return "<f4";
    case NpyDtype::kInt32:
      return "<i4";
    case NpyDtype::kInt64:
      return "<i8";
    case NpyDtype::kUint8:
      return "|u1";
  }
  return "?";
}

int64_t NpyHeader::num_elements() const {
  int64_t count = 1;
  for (int64_t dim : shape) count *= dim;
  return count;
}

namespace {

// Parses the header at the start of `prefix` (the first bytes of a file of
// `file_size` bytes) and checks the shape's data fills the rest exactly.
absl::StatusOr<NpyHeader> ParseHeaderPrefix(absl::string_view file_bytes, uint64_t file_size,
                                            absl::string_view name) {
  if (file_bytes.size() < 10 || file_bytes.substr(0, kMagic.size()) != kMagic) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": not a .npy file (missing \\x93NUMPY magic)"));
  }
  const auto major = static_cast<unsigned char>(file_bytes[6]);
  size_t header_len = 0;
  size_t prefix_len = 0;
  if (major == 1) {
    header_len = static_cast<unsigned char>(file_bytes[8]) |
                 (static_cast<size_t>(static_cast<unsigned char>(file_bytes[9])) << 8);
    prefix_len = 10;
  } else if (major == 2 || major == 3) {
    if (file_bytes.size() < 12) {
      return absl::InvalidArgumentError(absl::StrCat(name, ": truncated .npy header"));
    }
    header_len = 0;
    for (int i = 3; i >= 0; --i) {
      header_len = (header_len << 8) | static_cast<unsigned char>(file_bytes[8 + i]);
    }
    prefix_len = 12;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": unsupported .npy format version ", major));
  }
  if (header_len > file_bytes.size() - prefix_len) {
    if (file_size > file_bytes.size()) {
      return absl::InvalidArgumentError(absl::StrCat(name, ": .npy header of ", header_len,
                                                     " bytes is longer than the ", kNpyMaxHeaderBytes,
                                                     "-byte limit"));
    }
    return absl::InvalidArgumentError(absl::StrCat(
        name, ": truncated .npy header (header says ", header_len, " bytes, file has ",
        file_bytes.size() - prefix_len, ")"));
  }
  const absl::string_view dict = file_bytes.substr(prefix_len, header_len);
  // numpy writes the header as ASCII text. Anything else is refused before
  // any of it is quoted in a message: messages reach logs and proto3 string
  // fields (ListVersions' reason), which must be valid UTF-8.
  if (!std::all_of(dict.begin(), dict.end(),
                   [](char c) { return absl::ascii_isprint(c) || absl::ascii_isspace(c); })) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": .npy header is not ASCII text"));
  }

  NpyHeader header;
  header.data_offset = prefix_len + header_len;

  auto descr_text = ValueAfterKey(dict, "descr", name);
  if (!descr_text.ok()) return descr_text.status();
  if (descr_text->empty() || (descr_text->front() != '\'' && descr_text->front() != '"')) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": malformed 'descr' in header: ", dict));
  }
  const char quote = descr_text->front();
  const size_t descr_end = descr_text->find(quote, 1);
  if (descr_end == absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": malformed 'descr' in header: ", dict));
  }
  auto dtype = ParseDescr(descr_text->substr(1, descr_end - 1), name);
  if (!dtype.ok()) return dtype.status();
  header.dtype = *dtype;

  auto order_text = ValueAfterKey(dict, "fortran_order", name);
  if (!order_text.ok()) return order_text.status();
  if (absl::StartsWith(*order_text, "True")) {
    return absl::InvalidArgumentError(absl::StrCat(
        name, ": Fortran-order arrays are not supported; save with np.ascontiguousarray"));
  }
  if (!absl::StartsWith(*order_text, "False")) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": malformed 'fortran_order' in header: ", dict));
  }

  auto shape_text = ValueAfterKey(dict, "shape", name);
  if (!shape_text.ok()) return shape_text.status();
  if (!absl::StartsWith(*shape_text, "(")) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": malformed 'shape' in header: ", dict));
  }
  const size_t shape_end = shape_text->find(')');
  if (shape_end == absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": malformed 'shape' in header: ", dict));
  }
  int64_t elements = 1;
  for (absl::string_view part :
       absl::StrSplit(shape_text->substr(1, shape_end - 1), ',', absl::SkipWhitespace())) {
    int64_t dim = 0;
    if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(part), &dim) || dim < 0 ||
        dim > kNpyMaxDimension) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, ": bad dimension '", part, "' in shape ", shape_text->substr(0, shape_end + 1)));
    }
    header.shape.push_back(dim);
    // Checked before multiplying: two in-range dimensions can overflow int64.
    if (dim > 0 && elements > kNpyMaxElements / dim) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, ": array too large (shape ", shape_text->substr(0, shape_end + 1),
                       ")"));
    }
    elements *= dim;
  }
  if (header.shape.size() > 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        name, ": ", header.shape.size(), "-dimensional arrays are not supported (at most 2)"));
  }

  const int64_t expected_bytes = elements * static_cast<int64_t>(NpyItemSize(header.dtype));
  const int64_t actual_bytes = static_cast<int64_t>(file_size - header.data_offset);
  if (actual_bytes != expected_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        name, ": data size mismatch: shape ", shape_text->substr(0, shape_end + 1), " of ",
        NpyDescr(header.dtype), " needs ", expected_bytes, " bytes, file has ", actual_bytes,
        actual_bytes < expected_bytes ? " (truncated)" : " (trailing bytes)"));
  }
  return header;
}

// Reads up to `size` bytes at `fd`'s offset (short only at EOF). `name`
// labels errors.
absl::StatusOr<size_t> ReadFully(int fd, char* out, size_t size, absl::string_view name) {
  size_t done = 0;
  while (done < size) {
    const ssize_t got = read(fd, out + done, size - done);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return absl::InvalidArgumentError(absl::StrCat(name, ": read failed: ", std::strerror(errno)));
    if (got == 0) break;
    done += static_cast<size_t>(got);
  }
  return done;
}

// Reads the start of a file of `file_size` bytes at `fd` into `prefix` and
// parses its header; numpy's headers are a few hundred bytes, and one longer
// than kNpyMaxHeaderBytes is refused.
absl::StatusOr<NpyHeader> ReadHeaderPrefix(int fd, uint64_t file_size, absl::string_view name, std::string& prefix) {
  prefix.assign(static_cast<size_t>(std::min<uint64_t>(file_size, kNpyMaxHeaderBytes)), '\0');
  auto got = ReadFully(fd, prefix.data(), prefix.size(), name);
  if (!got.ok()) return got.status();
  prefix.resize(*got);
  return ParseHeaderPrefix(prefix, file_size, name);
}

}  // namespace

absl::StatusOr<NpyHeader> ParseNpyHeader(absl::string_view file_bytes, absl::string_view name) {
  return ParseHeaderPrefix(file_bytes, file_bytes.size(), name);
}


absl::StatusOr<NpyHeader> ReadNpyHeader(const std::string& path, absl::string_view name) {
  auto opened = OpenRegularFile(path, name);
  if (!opened.ok()) return opened.status();
  absl::Cleanup closer = [fd = opened->fd] { close(fd); };
  std::string prefix;
  return ReadHeaderPrefix(opened->fd, opened->size, name, prefix);
}

absl::StatusOr<std::string> Sha256HexOfFile(const std::string& path) {
  auto opened = OpenRegularFile(path, path);
  if (!opened.ok()) return opened.status();
  absl::Cleanup closer = [fd = opened->fd] { close(fd); };
  Sha256Hasher hasher;
  std::vector<char> chunk(size_t{1} << 20);
  while (true) {
    auto got = ReadFully(opened->fd, chunk.data(), chunk.size(), path);
    if (!got.ok()) return got.status();
    if (*got == 0) break;
    hasher.Update(chunk.data(), *got);
  }
  return hasher.FinishHex();
}

absl::StatusOr<NpyHeader> ReadNpyInto(const std::string& path, absl::string_view name, NpyDtype dtype,
                                      absl::FunctionRef<void*(const NpyHeader&)> allocate,
                                      std::string* sha256_hex) {
  auto opened = OpenRegularFile(path, name);
  if (!opened.ok()) return opened.status();
  const int fd = opened->fd;
  absl::Cleanup closer = [fd] { close(fd); };
  const uint64_t file_size = opened->size;
  auto read_fully = [&](char* out, size_t size) { return ReadFully(fd, out, size, name); };
  std::string prefix;
  auto header = ReadHeaderPrefix(fd, file_size, name, prefix);
  if (!header.ok()) return header.status();
  if (header->dtype != dtype) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": dtype is ", NpyDescr(header->dtype), ", expected ", NpyDescr(dtype)));
  }
  static_assert(std::endian::native == std::endian::little);
  Sha256Hasher hasher;
  hasher.Update(prefix.data(), header->data_offset);
  const size_t data_bytes = static_cast<size_t>(header->num_elements()) * NpyItemSize(dtype);
  char* out = static_cast<char*>(allocate(*header));
  // The data that came with the prefix, then the rest in chunks small enough
  // to be hashed while they are still in cache.
  const size_t in_prefix = std::min(data_bytes, prefix.size() - header->data_offset);
  if (in_prefix > 0) std::memcpy(out, prefix.data() + header->data_offset, in_prefix);
  hasher.Update(out, in_prefix);
  constexpr size_t kChunk = size_t{1} << 20;
  // Large arrays are hashed on a second thread while the next chunks are
  // read: reading (page faults included) and SHA-256 each cost about as much,
  // so a 1.3 GB factor matrix loads in about half the time. Small ones are
  // hashed inline, chunk by chunk while still in cache.
  constexpr size_t kParallelHashBytes = size_t{64} << 20;
  absl::Mutex progress_mu;
  size_t read_bytes = in_prefix;  // Guarded by progress_mu.
  bool read_failed = false;       // Guarded by progress_mu.
  std::thread hash_thread;
  if (data_bytes >= kParallelHashBytes) {
    hash_thread = std::thread([&] {
      size_t hashed = in_prefix;
      while (hashed < data_bytes) {
        size_t ready = 0;
        {
          absl::MutexLock lock(&progress_mu);
          const auto more = [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return read_bytes > hashed || read_failed; };
          progress_mu.Await(absl::Condition(&more));
          if (read_bytes <= hashed) return;  // The read failed.
          ready = read_bytes;
        }
        hasher.Update(out + hashed, ready - hashed);
        hashed = ready;
      }
    });
  }
  absl::Status read_status;
  for (size_t done = in_prefix; done < data_bytes;) {
    const size_t want = std::min(kChunk, data_bytes - done);
    auto chunk = read_fully(out + done, want);
    if (!chunk.ok() || *chunk != want) {
      read_status = chunk.ok() ? absl::InvalidArgumentError(absl::StrCat(name, ": file shrank while being read"))
                               : chunk.status();
      break;
    }
    if (!hash_thread.joinable()) hasher.Update(out + done, want);
    done += want;
    if (hash_thread.joinable()) {
      absl::MutexLock lock(&progress_mu);
      read_bytes = done;
    }
  }
  if (hash_thread.joinable()) {
    {
      absl::MutexLock lock(&progress_mu);
      read_failed = !read_status.ok();
    }
    hash_thread.join();
  }
  if (!read_status.ok()) return read_status;
  char extra;
  auto tail = read_fully(&extra, 1);
  if (!tail.ok()) return tail.status();
  if (*tail != 0) return absl::InvalidArgumentError(absl::StrCat(name, ": file grew while being read"));
  if (sha256_hex != nullptr) *sha256_hex = hasher.FinishHex();
  return header;
}

template <typename T>
absl::StatusOr<NpyArray<T>> ParseNpy(absl::string_view file_bytes, absl::string_view name) {
  auto header = ParseNpyHeader(file_bytes, name);
  if (!header.ok()) return header.status();
  if (header->dtype != NpyDtypeOf<T>()) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": dtype is ", NpyDescr(header->dtype),
                                                   ", expected ", NpyDescr(NpyDtypeOf<T>())));
  }
  NpyArray<T> array;
  array.shape = header->shape;
  array.data.resize(static_cast<size_t>(header->num_elements()));
  // The files are little-endian like every machine we deploy on.
  static_assert(std::endian::native == std::endian::little);
  if (!array.data.empty()) {
    std::memcpy(array.data.data(), file_bytes.data() + header->data_offset,
                array.data.size() * sizeof(T));
  }
  return array;
}

template <typename T>
absl::StatusOr<NpyArray<T>> ReadNpy(const std::string& path) {
  auto bytes = ReadFileToString(path);
  if (!bytes.ok()) return bytes.status();
  return ParseNpy<T>(*bytes, path);
}

template <typename T>
std::string SerializeNpy(std::span<const int64_t> shape, std::span<const T> data) {
  std::string dict = absl::StrCat("{'descr': '", NpyDescr(NpyDtypeOf<T>()),
                                  "', 'fortran_order': False, 'shape': (");
  for (size_t i = 0; i < shape.size(); ++i) {
    absl::StrAppend(&dict, shape[i], shape.size() == 1 ? "," : (i + 1 < shape.size() ? ", " : ""));
  }
  absl::StrAppend(&dict, "), }");
  // Pad with spaces and a final newline so that magic (6) + version (2) +
  // length (2) + dict is a multiple of 64.
  const size_t unpadded = 10 + dict.size() + 1;
  dict.append((64 - unpadded % 64) % 64, ' ');
  dict.push_back('\n');

  std::string out;
  out.reserve(10 + dict.size() + data.size_bytes());
  out.append(kMagic.data(), kMagic.size());
  out.push_back('\x01');
  out.push_back('\x00');
  out.push_back(static_cast<char>(dict.size() & 0xff));
  out.push_back(static_cast<char>((dict.size() >> 8) & 0xff));
  out.append(dict);
  out.append(reinterpret_cast<const char*>(data.data()), data.size_bytes());
  return out;
}

template <typename T>
absl::Status WriteNpy(const std::string& path, std::span<const int64_t> shape,
                      std::span<const T> data) {
  return WriteStringToFile(path, SerializeNpy<T>(shape, data));
}



#define EASYMONEY_INSTANTIATE_NPY(T)                                                         \
  template absl::StatusOr<NpyArray<T>> ParseNpy<T>(absl::string_view, absl::string_view);     \
  template absl::StatusOr<NpyArray<T>> ReadNpy<T>(const std::string&);                       \
  template std::string SerializeNpy<T>(std::span<const int64_t>, std::span<const T>);       \
  template absl::Status WriteNpy<T>(const std::string&, std::span<const int64_t>,            \
                                    std::span<const T>);
EASYMONEY_INSTANTIATE_NPY(float)
EASYMONEY_INSTANTIATE_NPY(int32_t)
EASYMONEY_INSTANTIATE_NPY(int64_t)
EASYMONEY_INSTANTIATE_NPY(uint8_t)
#undef EASYMONEY_INSTANTIATE_NPY

}  // namespace easymoney
