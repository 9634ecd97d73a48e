#ifndef EASYMONEY_CORE_MODEL_MODEL_DIRECTORY_H_
#define EASYMONEY_CORE_MODEL_MODEL_DIRECTORY_H_

// The versioned model directory: MODEL_BASE/<version>/ where <version> is a
// positive decimal integer. Anything else under the base (temporary
// directories being written, routing files, stray files) is not a version.

#include <cstdint>
#include <optional>
#include <string>

#include <vector>

#include "absl/strings/string_view.h"
#include "absl/status/statusor.h"
#include "core/model/model.h"

namespace easymoney {

// The version number a directory name denotes: digits only, no leading zero,
// at most int64's maximum. nullopt for anything else.
std::optional<int64_t> ParseVersionName(absl::string_view name);

// Version numbers of the sub-directories of `model_base`, ascending.
// NOT_FOUND when `model_base` does not exist.
absl::StatusOr<std::vector<int64_t>> ListModelVersions(const std::string& model_base);

// Writes a new version under `model_base` and returns its number, one larger
// than every existing version. The files are written into a hidden temporary
// directory, fsynced, the manifest last, and the directory is then renamed
// into place, so a reader never sees a half-written version. `manifest`'s
// `files` map is filled in here. Thread-compatible; two concurrent writers
// never claim the same number (the rename fails and the next one is tried).
absl::StatusOr<int64_t> WriteModelVersion(const std::string& model_base,
                                          easymoney::model::v1::ModelManifest manifest,
                                          const ModelArrays& arrays);

}  // namespace easymoney

#endif  // EASYMONEY_CORE_MODEL_MODEL_DIRECTORY_H_
