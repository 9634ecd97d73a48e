#ifndef EASYMONEY_SERVER_PROTOBUF_LOG_H_
#define EASYMONEY_SERVER_PROTOBUF_LOG_H_

#include <cstdint>

#include "absl/time/time.h"

namespace easymoney {

// libprotobuf writes a line to stderr for every message it cannot parse
// cleanly (a string field whose bytes are not UTF-8, ...), and gRPC decodes
// requests before any token is checked: 2,000 such calls from anyone who
// reaches the port added 504 KB to the log. This installs libprotobuf's log
// handler for the process: every warning and error is counted
// (ProtobufLogLines, exported as recommender_protobuf_log_lines_total), and
// at most one is printed per `interval`, with how many were left out since
// the last one printed. Fatal and informational messages are always
// printed.
//
// Process-wide (libprotobuf has one handler). Thread-safe.
void InstallProtobufLogLimiter(absl::Duration interval = absl::Seconds(10));

// Warnings and errors libprotobuf has logged since the process started.
int64_t ProtobufLogLines();

}  // namespace easymoney

#endif  // EASYMONEY_SERVER_PROTOBUF_LOG_H_
