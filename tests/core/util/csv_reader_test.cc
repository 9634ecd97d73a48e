#include "core/util/csv_reader.h"

#include <array>
#include <fstream>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/test_model.h"

namespace easymoney {
namespace {

using ::testing::HasSubstr;

constexpr std::array<absl::string_view, 2> kColumns = {"pk_cid", "age"};

// Writes `contents` byte for byte to a fresh file and returns its path.
std::string WriteCsv(const std::string& contents) {
  const std::string path = testing::MakeTempDir("csv") + "/table.csv";
  std::ofstream out(path, std::ios::binary);
  out << contents;
  return path;
}

std::unique_ptr<CsvReader> OpenOrDie(const std::string& path) {
  auto reader = CsvReader::Open(path, kColumns);
  EXPECT_TRUE(reader.ok()) << reader.status();
  return reader.ok() ? *std::move(reader) : nullptr;
}

TEST(CsvReaderTest, HeaderMismatchNamesExpectedColumn) {
  const std::string path = WriteCsv("pk_cid,edad\n1,30\n");
  auto reader = CsvReader::Open(path, kColumns);
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(reader.status().message(), HasSubstr("'edad', expected 'age'"));
  EXPECT_THAT(reader.status().message(), HasSubstr(path + ":1:"));
}

TEST(CsvReaderTest, MissingHeaderColumnIsNamed) {
  auto reader = CsvReader::Open(WriteCsv("pk_cid\n1\n"), kColumns);
  ASSERT_FALSE(reader.ok());
  EXPECT_THAT(reader.status().message(), HasSubstr("(missing)', expected 'age'"));
}

TEST(CsvReaderTest, AcceptsExtraTrailingHeaderColumns) {
  auto reader = CsvReader::Open(WriteCsv("pk_cid,age,extra\n1,30,x\n"), kColumns);
  EXPECT_TRUE(reader.ok()) << reader.status();
}

TEST(CsvReaderTest, SplitsRecordsIntoFields) {
  auto reader = OpenOrDie(WriteCsv("pk_cid,age\n15889,56\n1170544,,\n"));
  ASSERT_NE(reader, nullptr);
  auto more = reader->Next();
  ASSERT_TRUE(more.ok()) << more.status();
  ASSERT_TRUE(*more);
  EXPECT_EQ(reader->field(0), "15889");
  EXPECT_EQ(reader->field(1), "56");
  EXPECT_EQ(reader->line_number(), 2);
  more = reader->Next();
  ASSERT_TRUE(more.ok()) << more.status();
  ASSERT_TRUE(*more);
  EXPECT_EQ(reader->field(0), "1170544");
  EXPECT_EQ(reader->field(1), "");
  more = reader->Next();
  ASSERT_TRUE(more.ok()) << more.status();
  EXPECT_FALSE(*more);
}

TEST(CsvReaderTest, AcceptsCrlfLineEndings) {
  auto reader = OpenOrDie(WriteCsv("pk_cid,age\r\n15889,56\r\n16000,34\r\n"));
  ASSERT_NE(reader, nullptr);
  auto more = reader->Next();
  ASSERT_TRUE(more.ok() && *more);
  EXPECT_EQ(reader->field(1), "56");
  more = reader->Next();
  ASSERT_TRUE(more.ok() && *more);
  EXPECT_EQ(reader->field(0), "16000");
  EXPECT_EQ(reader->field(1), "34");
  more = reader->Next();
  ASSERT_TRUE(more.ok());
  EXPECT_FALSE(*more);
}

TEST(CsvReaderTest, AcceptsLastLineWithoutNewline) {
  auto reader = OpenOrDie(WriteCsv("pk_cid,age\n15889,56"));
  ASSERT_NE(reader, nullptr);
  auto more = reader->Next();
  ASSERT_TRUE(more.ok() && *more);
  EXPECT_EQ(reader->field(1), "56");
  more = reader->Next();
  ASSERT_TRUE(more.ok());
  EXPECT_FALSE(*more);
}

TEST(CsvReaderTest, SkipsBlankLines) {
  auto reader = OpenOrDie(WriteCsv("pk_cid,age\n\n1,30\n\r\n\n2,40\n\n"));
  ASSERT_NE(reader, nullptr);
  auto more = reader->Next();
  ASSERT_TRUE(more.ok() && *more) << more.status();
  EXPECT_EQ(reader->field(0), "1");
  EXPECT_EQ(reader->line_number(), 3);
  more = reader->Next();
  ASSERT_TRUE(more.ok() && *more) << more.status();
  EXPECT_EQ(reader->field(0), "2");
  EXPECT_EQ(reader->line_number(), 6);
  more = reader->Next();
  ASSERT_TRUE(more.ok());
  EXPECT_FALSE(*more);
}

TEST(CsvReaderTest, ShortRecordErrorNamesFileAndLine) {
  const std::string path = WriteCsv("pk_cid,age\n1,30\n2\n");
  auto reader = OpenOrDie(path);
  ASSERT_NE(reader, nullptr);
  ASSERT_TRUE(reader->Next().ok());
  auto more = reader->Next();
  ASSERT_FALSE(more.ok());
  EXPECT_EQ(more.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(more.status().message(), HasSubstr(path + ":3:"));
  EXPECT_THAT(more.status().message(), HasSubstr("1 fields, expected 2"));
}

TEST(CsvReaderTest, FieldErrorNamesFileLineColumnAndValue) {
  const std::string path = WriteCsv("pk_cid,age\n1,abc\n");
  auto reader = OpenOrDie(path);
  ASSERT_NE(reader, nullptr);
  auto more = reader->Next();
  ASSERT_TRUE(more.ok() && *more);
  const absl::Status error = reader->FieldError(1, "not an integer");
  EXPECT_EQ(error.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(error.message(), path + ":2: column 'age' value 'abc': not an integer");
}

TEST(CsvReaderTest, ReadsLineLongerThanBufferWhole) {
  // The reader buffers 1 MiB; a 3 MiB field must still come back whole.
  const std::string long_value(3 * (1 << 20) + 17, 'x');
  auto reader = OpenOrDie(WriteCsv("pk_cid,age\n1," + long_value + "\n2,30\n"));
  ASSERT_NE(reader, nullptr);
  auto more = reader->Next();
  ASSERT_TRUE(more.ok() && *more) << more.status();
  EXPECT_EQ(reader->field(0), "1");
  EXPECT_EQ(reader->field(1).size(), long_value.size());
  EXPECT_EQ(reader->field(1), long_value);
  more = reader->Next();
  ASSERT_TRUE(more.ok() && *more) << more.status();
  EXPECT_EQ(reader->field(0), "2");
  EXPECT_EQ(reader->field(1), "30");
  EXPECT_EQ(reader->line_number(), 3);
}

TEST(CsvReaderTest, MissingFileIsNotFound) {
  auto reader = CsvReader::Open(testing::MakeTempDir("csv") + "/absent.csv", kColumns);
  EXPECT_EQ(reader.status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace easymoney
