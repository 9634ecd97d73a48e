#include "core/util/tool_flags.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace easymoney {
namespace {

// Runs AcceptDashedFlagNames over a writable copy of `args` (argv[0]
// included) and returns the rewritten arguments.
std::vector<std::string> Rewrite(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  AcceptDashedFlagNames(static_cast<int>(argv.size()), argv.data());
  return std::vector<std::string>(argv.begin(), argv.end());
}

TEST(ToolFlagsTest, RewritesDashedNameWithValue) {
  EXPECT_EQ(Rewrite({"tool", "--model-base=x"}), (std::vector<std::string>{"tool", "--model_base=x"}));
}

TEST(ToolFlagsTest, RewritesDashedNameWithoutValue) {
  EXPECT_EQ(Rewrite({"tool", "--metrics-port", "9090"}),
            (std::vector<std::string>{"tool", "--metrics_port", "9090"}));
}

TEST(ToolFlagsTest, RewritesSingleDashFlags) {
  EXPECT_EQ(Rewrite({"tool", "-model-base=x"}), (std::vector<std::string>{"tool", "-model_base=x"}));
}

TEST(ToolFlagsTest, LeavesDashesInValueUntouched) {
  EXPECT_EQ(Rewrite({"tool", "--target=a-b", "--model-base=/srv/my-models"}),
            (std::vector<std::string>{"tool", "--target=a-b", "--model_base=/srv/my-models"}));
}

TEST(ToolFlagsTest, LeavesPositionalArgumentsUntouched) {
  EXPECT_EQ(Rewrite({"tool", "customer-products.csv", "--num-results=3", "out-dir"}),
            (std::vector<std::string>{"tool", "customer-products.csv", "--num_results=3", "out-dir"}));
}

TEST(ToolFlagsTest, LeavesProgramNameUntouched) {
  EXPECT_EQ(Rewrite({"-my-tool", "--a-b"}), (std::vector<std::string>{"-my-tool", "--a_b"}));
}

TEST(ToolFlagsTest, StopsAtDoubleDash) {
  EXPECT_EQ(Rewrite({"tool", "--model-base=x", "--", "--not-a-flag", "file-name"}),
            (std::vector<std::string>{"tool", "--model_base=x", "--", "--not-a-flag", "file-name"}));
}

}  // namespace
}  // namespace easymoney
