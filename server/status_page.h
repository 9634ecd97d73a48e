#ifndef EASYMONEY_SERVER_STATUS_PAGE_H_
#define EASYMONEY_SERVER_STATUS_PAGE_H_

#include "absl/strings/string_view.h"

struct CivetCallbacks;

namespace easymoney {

// The built-in status page: one self-contained HTML document (inline CSS and
// JavaScript, nothing fetched from elsewhere) that the metrics port serves at
// /status. Its script reads /metrics from the same origin every 2 s and shows
// what serves (versions, variants, model age), request rate, error ratios,
// p50/p99 latency, cold-start share, feedback KPIs (CTR, conversion rate) and
// drift (PSI), computed from the difference between scrapes, with the values
// that cross deploy/prometheus/alert_rules.yml's thresholds highlighted.
//
// The page is a convenience for whoever is at the machine; it computes over
// the last 30 s of one process, so Prometheus, the recording rules and the
// Grafana dashboard stay the reference (docs/operations.md, "Status page").
//
// The returned view points at static storage. Thread-safe.
absl::string_view StatusPageHtml();

// CivetWeb callbacks that answer GET and HEAD of /status (and /status/) with
// StatusPageHtml() and leave every other path, /metrics included, to the
// server they are given to. For prometheus-cpp's exposer:
//
//   prometheus::Exposer exposer("127.0.0.1:9464", /*num_threads=*/1, StatusPageCallbacks());
//
// CivetWeb copies the callbacks when the server starts; the object itself is
// process-wide, never changes and is never destroyed. Thread-safe.
const CivetCallbacks* StatusPageCallbacks();

}  // namespace easymoney

#endif  // EASYMONEY_SERVER_STATUS_PAGE_H_
