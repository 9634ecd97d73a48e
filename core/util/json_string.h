#ifndef EASYMONEY_CORE_UTIL_JSON_STRING_H_
#define EASYMONEY_CORE_UTIL_JSON_STRING_H_

// The one JSON string escaper of the project, for the lines written by hand
// where protobuf's JSON printer would cost too much per line (the event
// log's served answers) or where there is no message to print (the audit
// log, the cluster comparison report).
//
//   std::string line = "{\"customer_id\":";
//   AppendJsonString(line, customer_id);  // "{\"customer_id\":\"15889\""
//
// Every output is valid JSON in valid UTF-8, whatever the input: `"` and `\`
// are escaped, control characters and DEL become \n, \t, \r, \b, \f or
// \u00XX, well-formed UTF-8 passes through unchanged, and each byte that is
// not part of a well-formed UTF-8 sequence becomes \ufffd (the replacement
// character), so forged bytes in an id cannot break a reader of the log.
// Stateless; thread-safe.

#include <string>

#include "absl/strings/string_view.h"

namespace easymoney {

// Appends `text` as a quoted JSON string literal to `out`.
void AppendJsonString(std::string& out, absl::string_view text);

// `text` as a quoted JSON string literal.
std::string JsonString(absl::string_view text);

}  // namespace easymoney

#endif  // EASYMONEY_CORE_UTIL_JSON_STRING_H_
