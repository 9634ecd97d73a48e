#include "core/model/npy.h"

#include <filesystem>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/test_model.h"

namespace easymoney {
namespace {

using ::testing::HasSubstr;

TEST(NpyTest, RoundTripsTwoDimensionalFloat32) {
  const std::string dir = testing::MakeTempDir("npy");
  const std::string path = dir + "/m.npy";
  const std::vector<float> values = {1.5f, -2.0f, 3.25f, 0.0f, 5.0f, 6.0f};
  const int64_t shape[] = {2, 3};
  ASSERT_TRUE(WriteNpy<float>(path, shape, values).ok());
  auto read = ReadNpy<float>(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(read->data, values);
}

TEST(NpyTest, RoundTripsOneDimensionalIntegerTypes) {
  const std::vector<int64_t> ids = {1, 9000000000LL, 42};
  const int64_t shape[] = {3};
  auto read = ParseNpy<int64_t>(SerializeNpy<int64_t>(shape, ids), "ids");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->data, ids);
  const std::vector<uint8_t> bytes = {0, 255, 7};
  auto read_bytes = ParseNpy<uint8_t>(SerializeNpy<uint8_t>(shape, bytes), "bytes");
  ASSERT_TRUE(read_bytes.ok()) << read_bytes.status();
  EXPECT_EQ(read_bytes->data, bytes);
}

TEST(NpyTest, HeaderMatchesNumpyLayout) {
  const std::vector<int32_t> values = {1, 2};
  const int64_t shape[] = {2};
  const std::string file = SerializeNpy<int32_t>(shape, values);
  // numpy pads so that the data starts on a 64-byte boundary.
  auto header = ParseNpyHeader(file, "x");
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(header->data_offset % 64, 0u);
  EXPECT_THAT(file.substr(10, 60), HasSubstr("{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }"));
}

TEST(NpyTest, ReadsNumpyWrittenBytes) {
  // Bytes numpy 1.26 writes for np.save(f, np.array([[1, 2]], dtype='<f4')).
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }";
  // numpy pads magic + version + length + header to a multiple of 64: here 128.
  header.append(128 - 10 - header.size() - 1, ' ');
  header.push_back('\n');
  std::string file = std::string("\x93NUMPY\x01\x00", 8) + std::string(1, static_cast<char>(header.size())) +
                     std::string(1, '\0') + header;
  const float values[] = {1.0f, 2.0f};
  file.append(reinterpret_cast<const char*>(values), sizeof(values));
  auto read = ParseNpy<float>(file, "numpy.npy");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->shape, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(read->data, (std::vector<float>{1.0f, 2.0f}));
}

TEST(NpyTest, RefusesWrongDtype) {
  const std::vector<float> values = {1.0f};
  const int64_t shape[] = {1};
  auto read = ParseNpy<int64_t>(SerializeNpy<float>(shape, values), "f.npy");
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(read.status().message(), HasSubstr("dtype is <f4, expected <i8"));
}

TEST(NpyTest, RefusesUnsupportedDtype) {
  std::string file = SerializeNpy<float>(std::vector<int64_t>{1}, std::vector<float>{1.0f});
  file.replace(file.find("<f4"), 3, ">f4");
  auto read = ParseNpy<float>(file, "big.npy");
  ASSERT_FALSE(read.ok());
  EXPECT_THAT(read.status().message(), HasSubstr("unsupported dtype '>f4'"));
}

TEST(NpyTest, RefusesTruncatedData) {
  const std::vector<float> values = {1, 2, 3, 4};
  const int64_t shape[] = {2, 2};
  std::string file = SerializeNpy<float>(shape, values);
  file.resize(file.size() - 3);
  auto read = ParseNpy<float>(file, "t.npy");
  ASSERT_FALSE(read.ok());
  EXPECT_THAT(read.status().message(), HasSubstr("truncated"));
}

TEST(NpyTest, RefusesTrailingBytes) {
  std::string file = SerializeNpy<float>(std::vector<int64_t>{1}, std::vector<float>{1.0f});
  file.append("xx");
  auto read = ParseNpy<float>(file, "t.npy");
  ASSERT_FALSE(read.ok());
  EXPECT_THAT(read.status().message(), HasSubstr("trailing bytes"));
}

TEST(NpyTest, RefusesBadMagicAndBadHeaders) {
  EXPECT_THAT(ParseNpy<float>("not a numpy file", "a.npy").status().message(), HasSubstr("magic"));
  std::string file = SerializeNpy<float>(std::vector<int64_t>{1}, std::vector<float>{1.0f});
  std::string no_shape = file;
  no_shape.replace(no_shape.find("'shape'"), 7, "'shope'");
  EXPECT_THAT(ParseNpy<float>(no_shape, "b.npy").status().message(), HasSubstr("no 'shape' entry"));
  std::string fortran = file;
  fortran.replace(fortran.find("False"), 5, "True ");
  EXPECT_THAT(ParseNpy<float>(fortran, "c.npy").status().message(), HasSubstr("Fortran"));
  std::string header_too_long = file;
  header_too_long[8] = '\xff';
  header_too_long[9] = '\x7f';
  EXPECT_THAT(ParseNpy<float>(header_too_long, "d.npy").status().message(), HasSubstr("truncated .npy header"));
  std::string negative = file;
  negative.replace(negative.find("(1,)"), 4, "(-1,)");
  EXPECT_THAT(ParseNpy<float>(negative, "e.npy").status().message(), HasSubstr("bad dimension"));
}

TEST(NpyTest, RefusesHugeShapeWithoutAllocating) {
  std::string file = SerializeNpy<float>(std::vector<int64_t>{1}, std::vector<float>{1.0f});
  file.replace(file.find("(1,)"), 4, "(4000000000, 4000000000)");
  auto read = ParseNpy<float>(file, "huge.npy");
  ASSERT_FALSE(read.ok());
  EXPECT_THAT(read.status().message(), HasSubstr("too large"));
}

TEST(NpyTest, MissingFileIsNotFound) {
  auto read = ReadNpy<float>(testing::MakeTempDir("npy") + "/absent.npy");
  EXPECT_EQ(read.status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace easymoney
