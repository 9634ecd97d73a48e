// Hostile model versions over a real gRPC channel (docs/reliability.md): each
// broken version lands next to a serving one the way a bad copy would, and
// must be refused with a reason that names the file and the fault, counted in
// recommender_model_load_failures_total, and never disturb what serves.

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "client/recommender_client.h"
#include "core/model/manifest_json.h"
#include "core/model/model_directory.h"
#include "core/model/npy.h"
#include "core/util/sha256.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/recommender_server.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/loopback_server.h"
#include "tests/testing/test_model.h"

namespace easymoney {
namespace {

namespace fs = std::filesystem;
namespace v1 = easymoney::recommender::v1;
using easymoney::model::v1::ModelManifest;
using ::testing::HasSubstr;

// ---- Ways to break a version directory -------------------------------------

// An .npy file with the header dict `dict` (padded as numpy pads it) followed
// by `data`: lets a case lie about dtype, order or shape.
std::string NpyWithHeader(absl::string_view dict, absl::string_view data) {
  std::string header(dict);
  header.append((64 - (10 + header.size() + 1) % 64) % 64, ' ');
  header.push_back('\n');
  std::string out = "\x93NUMPY";
  out.push_back('\x01');
  out.push_back('\x00');
  out.push_back(static_cast<char>(header.size() & 0xff));
  out.push_back(static_cast<char>(header.size() >> 8));
  return out + header + std::string(data);
}

// `count` zero bytes: array data whose values do not matter, only its length.
std::string Bytes(size_t count) { return std::string(count, '\0'); }

ModelManifest ReadManifest(const std::string& dir) {
  auto manifest = ParseManifestJson(*ReadFileToString(dir + "/manifest.json"));
  EXPECT_TRUE(manifest.ok()) << manifest.status();
  return *manifest;
}

void WriteManifest(const std::string& dir, const ModelManifest& manifest) {
  ASSERT_TRUE(WriteStringToFile(dir + "/manifest.json", ManifestToJson(manifest)).ok());
}

// Replaces `file` and records its checksum in the manifest, as a writer with
// a bug would: the load gets past the checksum to the fault under test.
void ReplaceFile(const std::string& dir, const std::string& file, const std::string& bytes) {
  ASSERT_TRUE(WriteStringToFile(dir + "/" + file, bytes).ok());
  ModelManifest manifest = ReadManifest(dir);
  (*manifest.mutable_files())[file].set_sha256(Sha256Hex(bytes));
  WriteManifest(dir, manifest);
}

void FlipLastByte(const std::string& path) {
  std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
  file.seekg(-1, std::ios::end);
  char c = 0;
  file.get(c);
  file.seekp(-1, std::ios::end);
  file.put(static_cast<char>(c ^ 0x5a));
}

// Drops the lines of manifest.json that contain `key` (a field the writer
// forgot: protobuf's JSON reader then gives it its default).
void DropManifestLine(const std::string& dir, absl::string_view key) {
  std::string kept;
  for (absl::string_view line : absl::StrSplit(*ReadFileToString(dir + "/manifest.json"), '\n')) {
    if (!absl::StrContains(line, key)) absl::StrAppend(&kept, line, "\n");
  }
  ASSERT_TRUE(WriteStringToFile(dir + "/manifest.json", kept).ok());
}

// ---- The battery --------------------------------------------------------------

struct BrokenCase {
  std::string name;
  // Changes the hand-made test model before the project's writer writes it
  // (checksums then match: the semantic check under test must catch it).
  std::function<void(testing::TestModel&)> edit_model;
  // Then breaks the written directory, before it is renamed into the base.
  std::function<void(const std::string& dir)> corrupt;
  // Each must appear in the FAILED reason.
  std::vector<std::string> reason;
};

const float kNaN = std::numeric_limits<float>::quiet_NaN();
const float kInf = std::numeric_limits<float>::infinity();

std::vector<BrokenCase> Battery() {
  return {
      // ---- .npy files
      {"TruncatedArray", nullptr,
       [](const std::string& dir) {
         fs::resize_file(dir + "/customer_factors.npy", fs::file_size(dir + "/customer_factors.npy") - 4);
       },
       {"customer_factors.npy: sha256 does not match the manifest (incomplete copy or corruption)",
        "needs 24 bytes, file has 20 (truncated)"}},
      {"WrongDtypeInt64ForInt32", nullptr,
       [](const std::string& dir) {
         const std::vector<int64_t> clusters = {0, 1, 1};
         const int64_t shape[] = {3};
         ReplaceFile(dir, "customer_clusters.npy", SerializeNpy<int64_t>(shape, clusters));
       },
       {"customer_clusters.npy: dtype is <i8, expected <i4"}},
      {"WrongDtypeFloat64", nullptr,
       [](const std::string& dir) {
         ReplaceFile(dir, "product_factors.npy",
                     NpyWithHeader("{'descr': '<f8', 'fortran_order': False, 'shape': (4, 2), }", Bytes(64)));
       },
       {"product_factors.npy: unsupported dtype '<f8'"}},
      {"WrongDtypeBigEndian", nullptr,
       [](const std::string& dir) {
         ReplaceFile(dir, "product_popularity.npy",
                     NpyWithHeader("{'descr': '>f4', 'fortran_order': False, 'shape': (4,), }", Bytes(16)));
       },
       {"product_popularity.npy: unsupported dtype '>f4'"}},
      {"WrongShapeColumns",
       [](testing::TestModel& model) { model.arrays.customer_factors = RowMajorMatrix::Ones(3, 3); }, nullptr,
       {"customer_factors.npy: shape (3, 3) does not match the manifest, expected (3, 2)"}},
      {"WrongShapeRows",
       [](testing::TestModel& model) { model.arrays.product_factors = RowMajorMatrix::Ones(5, 2); }, nullptr,
       {"product_factors.npy: shape (5, 2) does not match the manifest, expected (4, 2)"}},
      {"NaNInFactors", [](testing::TestModel& model) { model.arrays.customer_factors(1, 0) = kNaN; }, nullptr,
       {"customer_factors.npy: contains NaN or Inf"}},
      {"InfInPopularity", [](testing::TestModel& model) { model.arrays.product_popularity[2] = kInf; }, nullptr,
       {"product_popularity.npy: contains NaN or Inf"}},
      {"HeaderShapeBiggerThanData", nullptr,
       [](const std::string& dir) {
         ReplaceFile(dir, "product_popularity.npy",
                     NpyWithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }", Bytes(16)));
       },
       {"product_popularity.npy: data size mismatch: shape (5,) of <f4 needs 20 bytes, file has 16 (truncated)"}},
      {"HeaderShapeSmallerThanDataTrailingBytes", nullptr,
       [](const std::string& dir) {
         ReplaceFile(dir, "product_popularity.npy",
                     NpyWithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", Bytes(16)));
       },
       {"product_popularity.npy: data size mismatch: shape (3,) of <f4 needs 12 bytes, file has 16 (trailing bytes)"}},
      {"HeaderTooLong", nullptr,
       [](const std::string& dir) {
         // A format 2.0 header of 70,000 bytes (4-byte length): valid for
         // numpy, beyond the reader's 64 KiB bound.
         std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }";
         dict.append(70000 - 1 - dict.size(), ' ');
         dict.push_back('\n');
         std::string file = "\x93NUMPY";
         file += std::string("\x02\x00", 2);
         for (int i = 0; i < 4; ++i) file.push_back(static_cast<char>((dict.size() >> (8 * i)) & 0xff));
         ReplaceFile(dir, "product_popularity.npy", file + dict + Bytes(16));
       },
       {"product_popularity.npy: .npy header of 70000 bytes is longer than the 65536-byte limit"}},
      {"NotNpyBadMagic", nullptr,
       [](const std::string& dir) {
         // What np.savez writes: a zip archive.
         ReplaceFile(dir, "customer_ids.npy", std::string("PK\x03\x04", 4) + Bytes(60));
       },
       {"customer_ids.npy: not a .npy file (missing \\x93NUMPY magic)"}},
      {"NpyHeaderNotAscii", nullptr,
       [](const std::string& dir) {
         // Were the header quoted in the reason, ListVersions' answer would
         // carry invalid UTF-8 and no client could parse it.
         ReplaceFile(dir, "product_popularity.npy",
                     NpyWithHeader("{'descr': '<f\xff\xfe', 'fortran_order': False, 'shape': (4,), }", Bytes(16)));
       },
       {"product_popularity.npy: .npy header is not ASCII text"}},
      {"FortranOrder", nullptr,
       [](const std::string& dir) {
         ReplaceFile(dir, "customer_factors.npy",
                     NpyWithHeader("{'descr': '<f4', 'fortran_order': True, 'shape': (3, 2), }", Bytes(24)));
       },
       {"customer_factors.npy: Fortran-order arrays are not supported"}},
      {"ThreeDimensionalArray", nullptr,
       [](const std::string& dir) {
         ReplaceFile(dir, "cluster_centroids.npy",
                     NpyWithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 1, 1), }", Bytes(8)));
       },
       {"cluster_centroids.npy: 3-dimensional arrays are not supported (at most 2)"}},
      {"OneDimensionalWhereTwoExpected", nullptr,
       [](const std::string& dir) {
         ReplaceFile(dir, "customer_factors.npy",
                     NpyWithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }", Bytes(24)));
       },
       {"customer_factors.npy: shape (6,) does not match the manifest, expected (3, 2)"}},
      {"HugeDimensionsTinyFile", nullptr,
       [](const std::string& dir) {
         // 2^33 x 2^33 floats would be 2^68 bytes: refused from the header,
         // before anything is allocated.
         ReplaceFile(dir, "product_factors.npy",
                     NpyWithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (8589934592, 8589934592), }",
                                   Bytes(32)));
       },
       {"product_factors.npy: array too large (shape (8589934592, 8589934592))"}},
      {"LargeButAllowedShapeTinyFile", nullptr,
       [](const std::string& dir) {
         // Within the element cap (2^34 floats = 64 GiB): the size check
         // against the file still refuses it before allocating.
         ReplaceFile(dir, "customer_factors.npy",
                     NpyWithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (1073741824, 16), }",
                                   Bytes(24)));
       },
       {"customer_factors.npy: data size mismatch: shape (1073741824, 16) of <f4 needs 68719476736 bytes, file has "
        "24 (truncated)"}},
      {"DimensionAboveTheCap", nullptr,
       [](const std::string& dir) {
         ReplaceFile(dir, "customer_ids.npy",
                     NpyWithHeader("{'descr': '<i8', 'fortran_order': False, 'shape': (1099511627776,), }", Bytes(24)));
       },
       {"customer_ids.npy: bad dimension '1099511627776'"}},
      {"NegativeDimension", nullptr,
       [](const std::string& dir) {
         ReplaceFile(dir, "customer_ids.npy",
                     NpyWithHeader("{'descr': '<i8', 'fortran_order': False, 'shape': (-3,), }", Bytes(24)));
       },
       {"customer_ids.npy: bad dimension '-3'"}},
      {"EmptyFile", nullptr,
       [](const std::string& dir) { fs::resize_file(dir + "/customer_ids.npy", 0); },
       {"customer_ids.npy: sha256 does not match the manifest", "not a .npy file"}},
      {"DirectoryWhereAFileShouldBe", nullptr,
       [](const std::string& dir) {
         fs::remove(dir + "/customer_factors.npy");
         fs::create_directory(dir + "/customer_factors.npy");
       },
       {"customer_factors.npy: not a regular file"}},
      {"NamedPipeWhereAFileShouldBe", nullptr,
       [](const std::string& dir) {
         // Opening a FIFO for reading blocks until a writer comes: the scan
         // must not wait for one.
         fs::remove(dir + "/customer_ids.npy");
         ASSERT_EQ(mkfifo((dir + "/customer_ids.npy").c_str(), 0644), 0);
       },
       {"customer_ids.npy: not a regular file"}},
      {"SymlinkOutsideTheModelBase", nullptr,
       [](const std::string& dir) {
         // An identical copy outside the base: the checksum matches, only
         // the link itself is wrong.
         const fs::path outside = fs::path(dir).parent_path().parent_path() / "outside";
         fs::create_directories(outside);
         fs::copy_file(dir + "/product_popularity.npy", outside / "product_popularity.npy",
                       fs::copy_options::overwrite_existing);
         fs::remove(dir + "/product_popularity.npy");
         fs::create_symlink(outside / "product_popularity.npy", dir + "/product_popularity.npy");
       },
       {"product_popularity.npy: symbolic link", "outside the version directory"}},
      {"ManifestSymlinkOutsideTheModelBase", nullptr,
       [](const std::string& dir) {
         const fs::path outside = fs::path(dir).parent_path().parent_path() / "outside";
         fs::create_directories(outside);
         fs::copy_file(dir + "/manifest.json", outside / "manifest.json", fs::copy_options::overwrite_existing);
         fs::remove(dir + "/manifest.json");
         fs::create_symlink(outside / "manifest.json", dir + "/manifest.json");
       },
       {"manifest.json: symbolic link", "outside the version directory"}},
      {"ManifestOf300MiB", nullptr,
       [](const std::string& dir) {
         // Sparse (no disk written): refused by its size before it is read.
         fs::resize_file(dir + "/manifest.json", uintmax_t{300} << 20);
       },
       {"manifest.json: 314572800 bytes, over the 256 MiB a manifest may have"}},
      {"ChecksumMismatchSameSize", nullptr,
       [](const std::string& dir) { FlipLastByte(dir + "/product_factors.npy"); },
       {"product_factors.npy: sha256 ", "does not match the manifest's"}},

      // ---- manifest.json
      {"ManifestNotJson", nullptr,
       [](const std::string& dir) {
         // Cut short mid-copy, in the middle of a key.
         const std::string json = *ReadFileToString(dir + "/manifest.json");
         ASSERT_TRUE(WriteStringToFile(dir + "/manifest.json", json.substr(0, json.find("\"products\"") + 4)).ok());
       },
       {"manifest.json: Closing quote expected in string."}},
      {"ManifestBinaryGarbage", nullptr,
       [](const std::string& dir) {
         // The parser quotes the bytes around the error; the reason must
         // still be valid UTF-8 (escaped), or ListVersions breaks.
         ASSERT_TRUE(WriteStringToFile(dir + "/manifest.json", std::string("\x93NUMPY\x01\x00\xff\xfe", 10)).ok());
       },
       {"manifest.json: Encountered non UTF-8 code points.\\n\\x93NUMPY"}},
      {"ManifestStringNotUtf8", nullptr,
       [](const std::string& dir) {
         std::string json = *ReadFileToString(dir + "/manifest.json");
         const size_t at = json.find("\"id\": \"a\"");
         ASSERT_NE(at, std::string::npos);
         json.replace(at, 9, "\"id\": \"a\xc3\x28\"");
         ASSERT_TRUE(WriteStringToFile(dir + "/manifest.json", json).ok());
       },
       {"manifest.json: Encountered non UTF-8 code points."}},
      {"ManifestMissingFormatVersion", nullptr,
       [](const std::string& dir) { DropManifestLine(dir, "\"format_version\""); },
       {"manifest.json: format_version 0 is not supported (this build reads 1)"}},
      {"ManifestIsANamedPipe", nullptr,
       [](const std::string& dir) {
         fs::remove(dir + "/manifest.json");
         ASSERT_EQ(mkfifo((dir + "/manifest.json").c_str(), 0644), 0);
       },
       {"manifest.json: not a regular file"}},
      {"ManifestWrongFormatVersion", nullptr,
       [](const std::string& dir) {
         ModelManifest manifest = ReadManifest(dir);
         manifest.set_format_version(2);
         WriteManifest(dir, manifest);
       },
       {"manifest.json: format_version 2 is not supported (this build reads 1)"}},
      {"ManifestMissingNumFactors", nullptr,
       [](const std::string& dir) { DropManifestLine(dir, "\"num_factors\""); },
       {"manifest.json: num_factors (0) and num_clusters (2) must be positive"}},
      {"ManifestEchoesEscaped", nullptr,
       [](const std::string& dir) {
         // A terminal escape sequence in a quoted value reaches operators'
         // terminals (stderr, `models list`) only escaped.
         ModelManifest manifest = ReadManifest(dir);
         manifest.mutable_features(0)->set_kind("\x1b[2J");
         WriteManifest(dir, manifest);
       },
       {"manifest.json: features[0].kind is '\\x1b[2J', expected 'numeric' or 'one_hot'"}},
      {"ManifestWithoutAFilesEntry", nullptr,
       [](const std::string& dir) {
         ModelManifest manifest = ReadManifest(dir);
         manifest.mutable_files()->erase("customer_ids.npy");
         WriteManifest(dir, manifest);
       },
       {"manifest.json: files has no entry for customer_ids.npy"}},
      {"FeatureDistributionWithoutAShareForEachBin", nullptr,
       [](const std::string& dir) {
         // The server counts cold-start ages into one bin per share: with
         // fewer shares than bins an age above 20 would count past the end.
         ModelManifest manifest = ReadManifest(dir);
         auto* distribution = manifest.add_feature_distributions();
         distribution->set_feature("age");
         for (double bound : {20.0, 40.0, 60.0}) distribution->add_upper_bounds(bound);
         distribution->add_shares(1.0);
         WriteManifest(dir, manifest);
       },
       {"manifest.json: feature_distributions[0] (age) needs ascending finite upper_bounds and one share more "
        "than bounds (has 3 bounds and 1 shares)"}},
      {"ListedFileMissing", nullptr, [](const std::string& dir) { fs::remove(dir + "/holdings_indices.npy"); },
       {"holdings_indices.npy: listed in the manifest but missing"}},

      // ---- array contents
      {"CustomerIdsNotAscending", [](testing::TestModel& model) { model.arrays.customer_ids = {10, 30, 20}; },
       nullptr, {"customer_ids.npy: ids must be positive and strictly ascending; row 2 holds 20"}},
      {"CustomerIdNotPositive", [](testing::TestModel& model) { model.arrays.customer_ids = {-5, 20, 30}; },
       nullptr, {"customer_ids.npy: ids must be positive and strictly ascending; row 0 holds -5"}},
      {"ClusterIdOutOfRange", [](testing::TestModel& model) { model.arrays.customer_clusters = {0, 1, 2}; },
       nullptr, {"customer_clusters.npy: row 2 names cluster 2, outside [0, 2)"}},
      {"HoldingsIndexOutOfRange", [](testing::TestModel& model) { model.arrays.holdings_indices = {0, 1, 4}; },
       nullptr, {"holdings_indices.npy: entry 2 (4) is out of range or not ascending within its row"}},
      {"HoldingsIndptrDecreasing", [](testing::TestModel& model) { model.arrays.holdings_indptr = {0, 2, 1, 3}; },
       nullptr, {"holdings_indptr.npy: decreases at row 1"}},
  };
}

// Version 1 (the hand-made test model) serving, polling off: versions are
// looked at only on an explicit Rescan.
class HostileVersionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("broken");
    base_ = dir_ + "/models";
    const testing::TestModel model = testing::MakeTestModel();
    ASSERT_EQ(*WriteModelVersion(base_, model.manifest, model.arrays), 1);
    // No polling: only explicit Rescans.
    RecommenderServer::Options options = testing::LoopbackServerOptions(base_, dir_ + "/audit.log");
    auto server = RecommenderServer::Create(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    RecommenderClient::Options client_options;
    client_options.target = absl::StrCat("127.0.0.1:", server_->port());
    auto client = RecommenderClient::Create(client_options);
    ASSERT_TRUE(client.ok());
    client_ = *std::move(client);
    ASSERT_NE(server_->CurrentModel(), nullptr);
    ASSERT_EQ(server_->CurrentModel()->version(), 1);
  }
  void TearDown() override {
    client_.reset();
    server_.reset();
    fs::remove_all(dir_);
  }

  // Writes the test model (edited) elsewhere, breaks it, and renames it into
  // the base as the next version, the way a bad copy lands.
  int64_t LandBrokenVersion(const BrokenCase& broken) {
    testing::TestModel model = testing::MakeTestModel();
    if (broken.edit_model) broken.edit_model(model);
    const std::string staging = dir_ + "/staging";
    auto written = WriteModelVersion(staging, model.manifest, model.arrays);
    EXPECT_TRUE(written.ok()) << written.status();
    const std::string built = staging + "/" + std::to_string(*written);
    if (broken.corrupt) broken.corrupt(built);
    const int64_t next = ListModelVersions(base_)->back() + 1;
    fs::rename(built, base_ + "/" + std::to_string(next));
    return next;
  }

  double LoadFailures() {
    const std::string name = "recommender_model_load_failures_total ";
    for (absl::string_view line : absl::StrSplit(testing::HttpGet(server_->metrics_port(), "/metrics"), '\n')) {
      double value = 0;
      if (absl::ConsumePrefix(&line, name) && absl::SimpleAtod(line, &value)) return value;
    }
    return -1;
  }

  v1::VersionInfo InfoOf(const v1::ListVersionsResponse& list, int64_t version) {
    for (const auto& info : list.versions()) {
      if (info.version() == version) return info;
    }
    return v1::VersionInfo();
  }

  std::string dir_;
  std::string base_;
  std::unique_ptr<RecommenderServer> server_;
  std::unique_ptr<RecommenderClient> client_;
};

// One server, one version landing after another: each case is version N+1
// next to version 1 and the N-1 broken versions before it.
TEST_F(HostileVersionsTest, EveryBrokenVersionIsRefusedWithItsReasonWhileVersionOneKeepsAnswering) {
  const std::vector<BrokenCase> battery = Battery();
  ASSERT_GE(battery.size(), 20u);
  for (const BrokenCase& broken : battery) {
    SCOPED_TRACE(broken.name);
    const double failures_before = LoadFailures();
    ASSERT_GE(failures_before, 0);
    const int64_t version = LandBrokenVersion(broken);

    const absl::Time start = absl::Now();
    auto rescan = client_->Rescan();
    const absl::Duration took = absl::Now() - start;
    ASSERT_TRUE(rescan.ok()) << rescan.status();
    // Refused from what the files say, without waiting on a pipe or reading
    // (or allocating) what a header claims.
    EXPECT_LT(took, absl::Seconds(1));

    auto list = client_->ListVersions();
    ASSERT_TRUE(list.ok()) << list.status();
    const v1::VersionInfo info = InfoOf(*list, version);
    EXPECT_EQ(info.state(), v1::VersionInfo::FAILED) << info.DebugString();
    for (const std::string& words : broken.reason) EXPECT_THAT(info.reason(), HasSubstr(words));
    EXPECT_EQ(InfoOf(*list, 1).state(), v1::VersionInfo::SERVING);
    EXPECT_EQ(LoadFailures(), failures_before + 1);

    v1::RecommendProductsRequest request;
    request.set_customer_id("10");
    auto response = client_->Recommend(request);
    ASSERT_TRUE(response.ok()) << response.status();
    EXPECT_EQ(response->model_version(), 1);
    EXPECT_EQ(response->products_size(), 3);  // Customer 10 holds a; b, c, d remain.
    std::printf("%-40s refused in %-12s %s\n", broken.name.c_str(), absl::FormatDuration(took).c_str(),
                info.reason().c_str());
  }
  // Unchanged refused versions are neither retried nor counted again.
  const double failures = LoadFailures();
  ASSERT_TRUE(client_->Rescan().ok());
  EXPECT_EQ(LoadFailures(), failures);
  EXPECT_EQ(failures, static_cast<double>(battery.size()));
}

TEST_F(HostileVersionsTest, VersionNamesBeyondInt64AreIgnoredAndALaterVersionStillLoads) {
  // Valid versions under names that do not fit int64: were either parsed
  // (wrapped or saturated), it would serve.
  const testing::TestModel model = testing::MakeTestModel();
  for (const char* name : {"99999999999999999999999", "9223372036854775808", "18446744073709551617"}) {
    auto written = WriteModelVersion(dir_ + "/staging", model.manifest, model.arrays);
    ASSERT_TRUE(written.ok());
    fs::rename(dir_ + "/staging/" + std::to_string(*written), base_ + "/" + name);
  }
  auto rescan = client_->Rescan();
  ASSERT_TRUE(rescan.ok()) << rescan.status();
  ASSERT_EQ(rescan->versions_size(), 1);
  EXPECT_EQ(rescan->versions(0).version(), 1);
  EXPECT_EQ(LoadFailures(), 0);
  EXPECT_EQ(server_->CurrentModel()->version(), 1);

  auto next = WriteModelVersion(base_, model.manifest, model.arrays);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(*next, 2);
  ASSERT_TRUE(client_->Rescan().ok());
  EXPECT_EQ(server_->CurrentModel()->version(), 2);
  v1::RecommendProductsRequest request;
  request.set_customer_id("10");
  auto response = client_->Recommend(request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->model_version(), 2);
}

TEST_F(HostileVersionsTest, SymlinkToAFileInsideTheVersionIsFollowed) {
  // Only links that leave the version directory are refused.
  const testing::TestModel model = testing::MakeTestModel();
  auto written = WriteModelVersion(dir_ + "/staging", model.manifest, model.arrays);
  ASSERT_TRUE(written.ok());
  const std::string built = dir_ + "/staging/" + std::to_string(*written);
  fs::rename(built + "/product_popularity.npy", built + "/popularity-data.npy");
  fs::create_symlink("popularity-data.npy", built + "/product_popularity.npy");
  fs::rename(built, base_ + "/2");
  ASSERT_TRUE(client_->Rescan().ok());
  EXPECT_EQ(server_->CurrentModel()->version(), 2);
  EXPECT_EQ(LoadFailures(), 0);
}

}  // namespace
}  // namespace easymoney
