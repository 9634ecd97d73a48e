#include "core/util/tool_flags.h"

#include <cstring>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"

namespace easymoney {

void AcceptDashedFlagNames(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    char* arg = argv[i];
    if (std::strcmp(arg, "--") == 0) return;
    if (arg[0] != '-') continue;
    // Skip the one or two leading dashes, then rewrite up to '='.
    char* name = arg + (arg[1] == '-' ? 2 : 1);
    for (char* c = name; *c != '\0' && *c != '='; ++c) {
      if (*c == '-') *c = '_';
    }
  }
}

std::vector<std::string> ParseToolFlags(int argc, char** argv, absl::string_view usage) {
  absl::SetProgramUsageMessage(usage);
  absl::FlagsUsageConfig config;
  config.contains_help_flags = [](absl::string_view file) { return absl::EndsWith(file, "main.cc"); };
  config.contains_helpshort_flags = config.contains_help_flags;
  absl::SetFlagsUsageConfig(config);
  // Rewrite copies, not argv itself, so `ps` and `pkill -f` still see the
  // command line as typed.
  std::vector<std::string> copies(argv, argv + argc);
  std::vector<char*> rewritten;
  for (std::string& arg : copies) rewritten.push_back(arg.data());
  rewritten.push_back(nullptr);
  AcceptDashedFlagNames(argc, rewritten.data());
  std::vector<char*> positional = absl::ParseCommandLine(argc, rewritten.data());
  return std::vector<std::string>(positional.begin() + 1, positional.end());
}

}  // namespace easymoney
