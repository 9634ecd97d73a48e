#include "client/fleet_counters.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cmath>
#include <map>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace easymoney {
namespace {

constexpr int kTimeoutMs = 5000;

// The labels of one exposition line "name{a="x",b="y"} value".
struct Sample {
  absl::string_view name;
  std::map<absl::string_view, absl::string_view> labels;
  double value = 0;
};

bool ParseSample(absl::string_view line, Sample& sample) {
  if (line.empty() || line.front() == '#') return false;
  const size_t brace = line.find('{');
  const size_t close = line.rfind('}');
  if (brace == absl::string_view::npos || close == absl::string_view::npos || close < brace) return false;
  sample.name = line.substr(0, brace);
  sample.labels.clear();
  for (absl::string_view pair : absl::StrSplit(line.substr(brace + 1, close - brace - 1), "\",", absl::SkipEmpty())) {
    const size_t equals = pair.find("=\"");
    if (equals == absl::string_view::npos) continue;
    absl::string_view value = pair.substr(equals + 2);
    absl::ConsumeSuffix(&value, "\"");
    sample.labels[absl::StripLeadingAsciiWhitespace(pair.substr(0, equals))] = value;
  }
  return absl::SimpleAtod(absl::StripAsciiWhitespace(line.substr(close + 1)), &sample.value);
}

bool IsServerError(absl::string_view code) {
  static const std::set<absl::string_view> kServerErrors = {"UNKNOWN",   "DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED",
                                                            "INTERNAL",  "UNAVAILABLE",       "DATA_LOSS"};
  return kServerErrors.contains(code);
}

double P99(const std::map<double, double>& cumulative) {
  if (cumulative.empty()) return NAN;
  const double total = cumulative.rbegin()->second;
  if (total <= 0) return NAN;
  const double wanted = 0.99 * total;
  double lower_bound = 0, lower_count = 0;
  for (const auto& [le, count] : cumulative) {
    if (count >= wanted) {
      if (std::isinf(le)) return lower_bound;
      const double span = count - lower_count;
      return span <= 0 ? le : lower_bound + (le - lower_bound) * (wanted - lower_count) / span;
    }
    lower_bound = le;
    lower_count = count;
  }
  return lower_bound;
}

absl::StatusOr<std::string> HttpGetMetrics(const std::string& host, const std::string& port, const addrinfo& address) {
  const int fd = socket(address.ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::UnavailableError("socket failed");
  const auto fail = [&](const char* what) {
    close(fd);
    return absl::UnavailableError(absl::StrCat(host, ":", port, ": ", what));
  };
  if (connect(fd, address.ai_addr, address.ai_addrlen) != 0) return fail("connect failed");
  const std::string request = absl::StrCat("GET /metrics HTTP/1.0\r\nHost: ", host, "\r\n\r\n");
  if (write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) return fail("write failed");
  std::string response;
  std::array<char, 65536> buffer;
  while (true) {
    pollfd ready{fd, POLLIN, 0};
    if (poll(&ready, 1, kTimeoutMs) <= 0) return fail("timed out");
    const ssize_t got = read(fd, buffer.data(), buffer.size());
    if (got < 0) return fail("read failed");
    if (got == 0) break;
    response.append(buffer.data(), static_cast<size_t>(got));
  }
  close(fd);
  const size_t body = response.find("\r\n\r\n");
  if (response.rfind("HTTP/1.", 0) != 0 || response.find(" 200 ") == std::string::npos || body == std::string::npos) {
    return absl::UnavailableError(absl::StrCat(host, ":", port, ": no 200 answer to GET /metrics"));
  }
  return response.substr(body + 4);
}

}  // namespace

FleetCounters SumFleetCounters(const std::vector<std::string>& expositions, int64_t stable, int64_t canary) {
  FleetCounters fleet;
  fleet.replicas = static_cast<int>(expositions.size());
  const std::string stable_version = absl::StrCat(stable);
  const std::string canary_version = absl::StrCat(canary);
  std::map<double, double> buckets[2];
  Sample sample;
  for (const std::string& text : expositions) {
    for (absl::string_view line : absl::StrSplit(text, '\n')) {
      if (!ParseSample(line, sample)) continue;
      const auto variant = sample.labels.find("variant");
      const auto version = sample.labels.find("model_version");
      if (variant == sample.labels.end() || version == sample.labels.end()) continue;
      int which = -1;
      if (variant->second == "stable" && version->second == stable_version) which = 0;
      if (variant->second == "canary" && version->second == canary_version) which = 1;
      if (which < 0) continue;
      VariantCounters& counters = which == 0 ? fleet.stable : fleet.canary;
      const auto method = sample.labels.find("method");
      const bool recommend = method != sample.labels.end() && method->second == "RecommendProducts";
      if (sample.name == "recommender_requests_total" && recommend) {
        counters.requests += sample.value;
        if (IsServerError(sample.labels["code"])) counters.server_errors += sample.value;
      } else if (sample.name == "recommender_feedback_events_total") {
        const absl::string_view event = sample.labels["event"];
        if (event == "impression") counters.impressions += sample.value;
        if (event == "click") counters.clicks += sample.value;
        if (event == "conversion") counters.conversions += sample.value;
      } else if (sample.name == "recommender_request_duration_seconds_bucket" && recommend) {
        double le = 0;
        const absl::string_view bound = sample.labels["le"];
        if (bound == "+Inf") {
          le = INFINITY;
        } else if (!absl::SimpleAtod(bound, &le)) {
          continue;
        }
        buckets[which][le] += sample.value;
      }
    }
  }
  fleet.stable.p99_seconds = P99(buckets[0]);
  fleet.canary.p99_seconds = P99(buckets[1]);
  return fleet;
}

absl::StatusOr<FleetCounters> ScrapeFleetCounters(const std::vector<std::string>& targets, int64_t stable,
                                                  int64_t canary) {
  std::vector<std::string> expositions;
  for (const std::string& target : targets) {
    const size_t colon = target.rfind(':');
    if (colon == std::string::npos) return absl::InvalidArgumentError(absl::StrCat("metrics target \"", target, "\" has no :port"));
    const std::string host = target.substr(0, colon);
    const std::string port = target.substr(colon + 1);
    addrinfo hints{};
    // IPv4 only: "localhost" would otherwise count one server twice (or
    // fail on ::1 where the metrics port binds 127.0.0.1).
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (const int error = getaddrinfo(host.c_str(), port.c_str(), &hints, &found); error != 0) {
      return absl::UnavailableError(absl::StrCat("metrics target ", target, ": ", gai_strerror(error)));
    }
    std::set<std::string> seen;
    absl::Status failure;
    for (addrinfo* entry = found; entry != nullptr && failure.ok(); entry = entry->ai_next) {
      const std::string key(reinterpret_cast<const char*>(entry->ai_addr), entry->ai_addrlen);
      if (!seen.insert(key).second) continue;
      auto body = HttpGetMetrics(host, port, *entry);
      if (!body.ok()) {
        failure = body.status();
      } else {
        expositions.push_back(*std::move(body));
      }
    }
    freeaddrinfo(found);
    if (!failure.ok()) return failure;
  }
  return SumFleetCounters(expositions, stable, canary);
}

}  // namespace easymoney
