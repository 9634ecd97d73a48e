#include "absl/strings/string_view.h"
#include "core/model/model_directory.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/model/manifest_json.h"
#include "core/model/npy.h"
#include "core/util/sha256.h"

namespace easymoney {
namespace {

namespace fs = std::filesystem;

absl::Status SyncDirectory(const fs::path& dir) {
  const int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return absl::InternalError(absl::StrCat("cannot open ", dir.string(), ": ", std::strerror(errno)));
  const int result = fsync(fd);
  close(fd);
  if (result != 0) return absl::InternalError(absl::StrCat("fsync of ", dir.string(), " failed"));
  return absl::OkStatus();
}

}  // namespace

std::optional<int64_t> ParseVersionName(absl::string_view name) {
  if (name.empty() || name.size() > 19 || name[0] == '0') return std::nullopt;
  if (!std::all_of(name.begin(), name.end(), [](char c) { return absl::ascii_isdigit(c); })) {
    return std::nullopt;
  }
  int64_t version = 0;
  if (!absl::SimpleAtoi(name, &version) || version < 1) return std::nullopt;
  return version;
}

absl::StatusOr<std::vector<int64_t>> ListModelVersions(const std::string& model_base) {
  std::error_code error;
  fs::directory_iterator it(model_base, error);
  if (error) {
    if (error == std::errc::no_such_file_or_directory) {
      return absl::NotFoundError(absl::StrCat("model base ", model_base, " does not exist"));
    }
    return absl::InternalError(absl::StrCat("cannot list model base ", model_base, ": ", error.message()));
  }
  std::vector<int64_t> versions;
  for (const fs::directory_entry& entry : it) {
    if (!entry.is_directory(error)) continue;
    if (auto version = ParseVersionName(entry.path().filename().string())) versions.push_back(*version);
  }
  std::sort(versions.begin(), versions.end());
  return versions;
}

absl::StatusOr<int64_t> WriteModelVersion(const std::string& model_base,
                                          easymoney::model::v1::ModelManifest manifest,
                                          const ModelArrays& arrays) {
  std::error_code error;
  fs::create_directories(model_base, error);
  if (error) {
    return absl::InternalError(absl::StrCat("cannot create model base ", model_base, ": ", error.message()));
  }
  const fs::path base(model_base);
  const fs::path staging = base / absl::StrCat(".writing-", getpid(), "-", std::chrono::steady_clock::now().time_since_epoch().count());
  fs::create_directory(staging, error);
  if (error) return absl::InternalError(absl::StrCat("cannot create ", staging.string(), ": ", error.message()));

  auto write_file = [&](const std::string& name, const std::string& bytes) -> absl::Status {
    (*manifest.mutable_files())[std::string(name)].set_sha256(Sha256Hex(bytes));
    return WriteStringToFile((staging / name).string(), bytes);
  };
  auto matrix_bytes = [](const RowMajorMatrix& m) {
    const int64_t shape[] = {m.rows(), m.cols()};
    return SerializeNpy<float>(shape, std::span<const float>(m.data(), static_cast<size_t>(m.size())));
  };
  auto vector_bytes = [](const auto& values) {
    using T = std::remove_cvref_t<decltype(*values.data())>;
    const int64_t shape[] = {static_cast<int64_t>(values.size())};
    return SerializeNpy<T>(shape, std::span<const T>(values.data(), values.size()));
  };

  absl::Status status = write_file(kCustomerIdsFile, vector_bytes(arrays.customer_ids));
  if (status.ok()) status = write_file(kCustomerFactorsFile, matrix_bytes(arrays.customer_factors));
  if (status.ok()) status = write_file(kProductFactorsFile, matrix_bytes(arrays.product_factors));
  if (status.ok()) {
    status = write_file(kSingularValuesFile,
                        vector_bytes(std::span<const float>(arrays.singular_values.data(),
                                                            static_cast<size_t>(arrays.singular_values.size()))));
  }
  if (status.ok()) status = write_file(kClusterCentroidsFile, matrix_bytes(arrays.cluster_centroids));
  if (status.ok()) status = write_file(kCustomerClustersFile, vector_bytes(arrays.customer_clusters));
  if (status.ok()) status = write_file(kHoldingsIndptrFile, vector_bytes(arrays.holdings_indptr));
  if (status.ok()) status = write_file(kHoldingsIndicesFile, vector_bytes(arrays.holdings_indices));
  if (status.ok()) status = write_file(kProductPopularityFile, vector_bytes(arrays.product_popularity));
  if (status.ok() && !arrays.customer_ages.empty()) {
    status = write_file(kCustomerAgesFile, vector_bytes(arrays.customer_ages));
  }
  if (status.ok() && !arrays.customer_flags.empty()) {
    status = write_file(kCustomerFlagsFile, vector_bytes(arrays.customer_flags));
  }
  // The manifest goes last: its presence is what marks the files complete.
  if (status.ok()) status = WriteStringToFile((staging / kManifestFile).string(), ManifestToJson(manifest));
  if (status.ok()) status = SyncDirectory(staging);
  if (!status.ok()) {
    fs::remove_all(staging, error);
    return status;
  }

  for (int attempt = 0; attempt < 100; ++attempt) {
    auto versions = ListModelVersions(model_base);
    if (!versions.ok()) break;
    if (!versions->empty() && versions->back() == std::numeric_limits<int64_t>::max()) {
      fs::remove_all(staging, error);
      return absl::FailedPreconditionError(
          absl::StrCat("version ", versions->back(), " exists under ", model_base, ": no higher version number is left"));
    }
    const int64_t version = versions->empty() ? 1 : versions->back() + 1;
    const fs::path target = base / std::to_string(version);
    // rename(2) onto an existing non-empty directory fails, so a concurrent
    // writer that claimed this number makes us retry with the next one.
    if (std::rename(staging.c_str(), target.c_str()) == 0) {
      if (auto synced = SyncDirectory(base); !synced.ok()) return synced;
      return version;
    }
    if (errno != EEXIST && errno != ENOTEMPTY) {
      const std::string reason = std::strerror(errno);
      fs::remove_all(staging, error);
      return absl::InternalError(absl::StrCat("cannot rename ", staging.string(), " to ", target.string(), ": ", reason));
    }
  }
  fs::remove_all(staging, error);
  return absl::InternalError(absl::StrCat("could not claim a version number under ", model_base));
}

}  // namespace easymoney
