#include "core/util/json_string.h"

#include <string>

#include "gtest/gtest.h"

namespace easymoney {
namespace {

TEST(JsonStringTest, QuotesPlainText) { EXPECT_EQ(JsonString("15889"), "\"15889\""); }

TEST(JsonStringTest, EscapesQuotesAndBackslashes) { EXPECT_EQ(JsonString(R"(a"b\c)"), R"("a\"b\\c")"); }

TEST(JsonStringTest, EscapesControlCharactersAndDelete) {
  EXPECT_EQ(JsonString("\n\t\r\b\f"), R"("\n\t\r\b\f")");
  EXPECT_EQ(JsonString(std::string("\x01\x1f\x7f", 3)), R"("\u0001\u001f\u007f")");
  EXPECT_EQ(JsonString(std::string("a\0b", 3)), R"("a\u0000b")");
}

TEST(JsonStringTest, PassesWellFormedUtf8Through) {
  // é (2 bytes), € (3 bytes), 😀 (4 bytes).
  EXPECT_EQ(JsonString("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
}

// Bytes that are not well-formed UTF-8 would make the whole line invalid
// JSON for a strict reader: each becomes U+FFFD.
TEST(JsonStringTest, ReplacesEachByteOfMalformedUtf8) {
  EXPECT_EQ(JsonString("\xff"), R"("\ufffd")");
  EXPECT_EQ(JsonString("a\xc3"), R"("a\ufffd")");                   // Truncated sequence.
  EXPECT_EQ(JsonString("\xc0\xaf"), R"("\ufffd\ufffd")");           // Overlong '/'.
  EXPECT_EQ(JsonString("\xed\xa0\x80"), R"("\ufffd\ufffd\ufffd")");  // A surrogate.
  EXPECT_EQ(JsonString("\xf4\x90\x80\x80"), R"("\ufffd\ufffd\ufffd\ufffd")");  // Above U+10FFFF.
  EXPECT_EQ(JsonString("\xe2\x82x"), R"("\ufffd\ufffdx")");        // Bad continuation.
}

TEST(JsonStringTest, AppendsToWhatIsThere) {
  std::string out = "{\"id\":";
  AppendJsonString(out, "7");
  EXPECT_EQ(out, "{\"id\":\"7\"");
}

}  // namespace
}  // namespace easymoney
