#ifndef EASYMONEY_CORE_UTIL_TOOL_FLAGS_H_
#define EASYMONEY_CORE_UTIL_TOOL_FLAGS_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace easymoney {

// Command-line handling shared by every tool of the project:
//  - sets `usage` as the program's usage message;
//  - makes --help list the flags defined in the tool's own main file (by
//    default Abseil only lists flags of a file named after the binary);
//  - accepts dashed flag names ("--model-base") for the underscored Abseil
//    names ("model_base"), since our docs and scripts use dashes;
//  - parses, exiting with a message on unknown flags (Abseil's behaviour).
// Returns the positional arguments, argv[0] excluded.
std::vector<std::string> ParseToolFlags(int argc, char** argv, absl::string_view usage);

// Rewrites "--model-base=x" to "--model_base=x" in place for every argument
// before a bare "--". Exposed for tests.
void AcceptDashedFlagNames(int argc, char** argv);

}  // namespace easymoney

#endif  // EASYMONEY_CORE_UTIL_TOOL_FLAGS_H_
