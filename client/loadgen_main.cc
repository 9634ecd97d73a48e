// recommender-loadgen: drives a recommender-server on loopback with
// RecommendProducts calls and reports throughput, latency percentiles and
// errors by gRPC code.

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <atomic>
#include <vector>

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include "absl/base/thread_annotations.h"
#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/adaptive_throttle.h"
#include "client/customer_sampler.h"
#include "client/latency_recorder.h"
#include "client/load_balancing.h"
#include "client/security_flags.h"
#include "client/loopback_target.h"
#include "core/model/npy.h"
#include "core/util/tool_flags.h"
#include "easymoney/recommender/v1/recommender.grpc.pb.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051",
          "gRPC target; must be a loopback address (127.0.0.0/8, localhost, [::1]), or a list of them behind ipv4: "
          "or ipv6: (ipv4:127.0.0.1:50051,127.0.0.1:50052) to spread the load over several servers.");
ABSL_FLAG(std::string, lb_policy, "",
          "Load-balancing policy: round_robin or pick_first; empty: round_robin when --target lists several "
          "addresses, else gRPC's default (pick_first).");
ABSL_FLAG(int, channels, 1,
          "Connections to spread the calls over, round robin (a fleet of backends has many; the server "
          "limits concurrent calls per connection).");
ABSL_FLAG(int, concurrency, 16, "Closed loop: requests kept in flight (each answer sends the next). Ignored with --rate.");
ABSL_FLAG(double, rate, 0,
          "Open loop: requests per second on a fixed schedule, whatever the server does; latency counts from the "
          "scheduled send time, so queueing in the client shows. 0: closed loop.");
ABSL_FLAG(int, max_outstanding, 10000,
          "Open loop: cap on requests in flight; at the cap sending waits, and the wait counts as latency.");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(10),
          "Stop sending after this long; 0: no time limit (then --requests is required).");
ABSL_FLAG(int64_t, requests, 0, "Stop after sending this many requests; 0: no count limit.");
ABSL_FLAG(std::string, customers_file, "",
          "Customer ids: a text file with one id per line, or a model version directory (its customer_ids.npy).");
ABSL_FLAG(std::string, id_range, "", "Customer ids: the inclusive range A:B, e.g. 15889:1553689.");
ABSL_FLAG(double, zipf, 0, "Draw customers with a Zipf law of this exponent (e.g. 1.1); 0: uniformly.");
ABSL_FLAG(int, n, 0, "num_results of each request (0: the server's default, 5).");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(5), "Deadline of each request.");
ABSL_FLAG(double, adaptive_throttle, 0,
          "Client-side adaptive throttling as a backend using the client library would do it: refuse calls "
          "locally while the server refuses them for overload, letting through this multiple (K, e.g. 1.1 or 2) "
          "of what the server recently accepted; 0: off. Local refusals are reported apart.");
ABSL_FLAG(absl::Duration, adaptive_throttle_window, absl::Seconds(10),
          "With --adaptive-throttle: how much of the recent past the throttle counts (the client library's "
          "adaptive_throttle_window). Shorter forgets an overload sooner.");
ABSL_FLAG(absl::Duration, connect_timeout, absl::Seconds(5), "How long to wait for the channel to connect first.");
ABSL_FLAG(uint64_t, seed, 42, "Random seed of the customer draw.");
ABSL_FLAG(bool, json, false, "Print the report as one JSON object on stdout.");
ABSL_FLAG(bool, progress, true, "Print a progress line on stderr every second.");

namespace {

namespace v1 = easymoney::recommender::v1;
using Clock = std::chrono::steady_clock;

constexpr char kUsage[] =
    "Sends RecommendProducts requests to a recommender-server on this machine and reports latency.\n"
    "Usage:\n"
    "  recommender-loadgen --id-range A:B | --customers-file FILE|VERSION_DIR\n"
    "                      [--concurrency 16 | --rate R] [--duration 10s] [--requests N] [--zipf S]\n"
    "                      [--target 127.0.0.1:50051 | ipv4:127.0.0.1:P1,127.0.0.1:P2] [--json]\n"
    "                      [--channels 1] [--tls | --tls-ca FILE] [--tls-cert F --tls-key F] [--token-file FILE]\n"
    "Closed loop (default) keeps --concurrency requests in flight: it measures saturation throughput.\n"
    "Open loop (--rate R) sends R requests/s on schedule and measures latency from the scheduled time,\n"
    "so a stalled server shows as latency instead of as fewer requests. Latency percentiles count\n"
    "successful requests; failures are counted by gRPC code. Open loop also reports the service latency,\n"
    "from the moment each call was handed to gRPC, and the send lag behind schedule: a load generator\n"
    "short of CPU shows as send lag, which the scheduled-time latency includes and the service latency\n"
    "does not. Exit status: 0 when the run completed\n"
    "(whatever the errors), 1 when it could not start, 2 on a usage error.";

struct Config {
  double rate = 0;  // 0: closed loop.
  int concurrency = 16;
  int max_outstanding = 10000;
  absl::Duration duration = absl::Seconds(10);
  int64_t max_requests = 0;
  int num_results = 0;
  absl::Duration timeout = absl::Seconds(5);
  // "Bearer <token>", or empty: no authorization metadata.
  std::string authorization;
  uint64_t seed = 42;
  bool progress = true;
  double adaptive_throttle = 0;  // K; 0: off.
  absl::Duration adaptive_throttle_window = absl::Seconds(10);
};

// What a run measured.
struct Report {
  int64_t sent = 0;  // Including those refused locally.
  int64_t ok = 0;
  int64_t throttled = 0;  // Refused locally by the adaptive throttle, never sent.
  std::map<int, int64_t> errors_by_code;
  double elapsed_seconds = 0;
  easymoney::LatencyRecorder latencies;  // Successful requests only.
  // Open loop, successful requests: from the moment the call was handed to
  // gRPC, not from its scheduled time. When the sender falls behind its
  // schedule (this process short of CPU), `latencies` grows with the backlog
  // while this stays what the channel and the server took.
  easymoney::LatencyRecorder service_latencies;
  // Open loop, every request: how late it was handed to gRPC.
  easymoney::LatencyRecorder send_lags;
};

// Runs one load test against a stub. Completions arrive on gRPC's callback
// threads; everything they touch is guarded by mu_. Run() once.
class LoadGenerator {
 public:
  LoadGenerator(const std::vector<std::shared_ptr<grpc::Channel>>& channels, const easymoney::CustomerSampler& sampler,
                Config config)
      : sampler_(sampler), config_(config), random_(config.seed) {
    for (const auto& channel : channels) stubs_.push_back(v1::Recommender::NewStub(channel));
    if (config_.adaptive_throttle > 0) {
      throttle_ = std::make_unique<easymoney::AdaptiveThrottle>(easymoney::AdaptiveThrottle::Options{
          .accepts_multiplier = config_.adaptive_throttle, .window = config_.adaptive_throttle_window});
    }
  }

  Report Run() {
    start_ = Clock::now();
    if (config_.duration > absl::ZeroDuration()) end_ = start_ + absl::ToChronoNanoseconds(config_.duration);
    std::thread open_loop_sender;
    if (config_.rate > 0) {
      open_loop_sender = std::thread([this] { SendOnSchedule(); });
    } else {
      for (int i = 0; i < config_.concurrency; ++i) {
        const Clock::time_point now = Clock::now();
        const std::optional<int64_t> customer_id = ClaimSend(now);
        if (!customer_id) break;
        Send(*customer_id, now);
      }
    }
    WaitUntilFinished();
    if (open_loop_sender.joinable()) open_loop_sender.join();
    absl::MutexLock lock(&mu_);
    report_.elapsed_seconds = std::chrono::duration<double>(last_completion_ - start_).count();
    return report_;
  }

 private:
  struct Call {
    grpc::ClientContext context;
    v1::RecommendProductsRequest request;
    v1::RecommendProductsResponse response;
    // Latency counts from here: the scheduled time in open loop.
    Clock::time_point scheduled;
    // When the call was handed to gRPC.
    Clock::time_point sent;
  };

  // Reserves the next request if the run is not over and draws its
  // customer; nullopt once the count or time limit is reached. In open loop
  // it first waits while --max-outstanding requests are in flight.
  std::optional<int64_t> ClaimSend(Clock::time_point scheduled) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    if (config_.rate > 0) mu_.Await(absl::Condition(this, &LoadGenerator::BelowOutstandingCap));
    if (sending_done_) return std::nullopt;
    if ((config_.max_requests > 0 && report_.sent >= config_.max_requests) || (end_ && scheduled >= *end_)) {
      sending_done_ = true;
      return std::nullopt;
    }
    ++report_.sent;
    ++outstanding_;
    return sampler_.Next(random_);
  }

  bool BelowOutstandingCap() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return outstanding_ < config_.max_outstanding;
  }

  void Send(int64_t customer_id, Clock::time_point scheduled) {
    if (throttle_ != nullptr && !throttle_->Admit(absl::Now(), ThrottleDraw())) {
      absl::MutexLock lock(&mu_);
      ++report_.throttled;
      --outstanding_;
      last_completion_ = Clock::now();
      return;
    }
    auto* call = new Call;
    call->scheduled = scheduled;
    call->context.set_deadline(std::chrono::system_clock::now() + absl::ToChronoNanoseconds(config_.timeout));
    if (!config_.authorization.empty()) call->context.AddMetadata("authorization", config_.authorization);
    call->request.set_customer_id(absl::StrCat(customer_id));
    call->request.set_num_results(config_.num_results);
    call->sent = Clock::now();
    const size_t stub = next_stub_.fetch_add(1, std::memory_order_relaxed) % stubs_.size();
    stubs_[stub]->async()->RecommendProducts(&call->context, &call->request, &call->response,
                                      [this, call](grpc::Status status) { OnDone(call, status); });
  }

  // gRPC has released the call before it runs this, so the call can go.
  void OnDone(Call* call, const grpc::Status& status) ABSL_LOCKS_EXCLUDED(mu_) {
    const Clock::time_point now = Clock::now();
    const absl::Duration latency = absl::FromChrono(now - call->scheduled);
    const absl::Duration service_latency = absl::FromChrono(now - call->sent);
    const absl::Duration send_lag = absl::FromChrono(call->sent - call->scheduled);
    if (throttle_ != nullptr) {
      throttle_->Record(absl::Now(), status.error_code() != grpc::StatusCode::RESOURCE_EXHAUSTED);
    }
    delete call;
    {
      absl::MutexLock lock(&mu_);
      if (config_.rate > 0) report_.send_lags.Record(send_lag);
      if (status.ok()) {
        ++report_.ok;
        report_.latencies.Record(latency);
        if (config_.rate > 0) report_.service_latencies.Record(service_latency);
      } else {
        ++report_.errors_by_code[status.error_code()];
      }
      --outstanding_;
      last_completion_ = now;
    }
    if (config_.rate > 0) return;
    // Closed loop: each answer sends the next request.
    if (const std::optional<int64_t> customer_id = ClaimSend(now)) Send(*customer_id, now);
  }

  // Open loop: request i is due at start + i / rate. A sender that falls
  // behind (a slow wake-up, the outstanding cap) sends at once, late, and the
  // lateness is part of the latency.
  void SendOnSchedule() {
    const double interval_nanoseconds = 1e9 / config_.rate;
    for (int64_t i = 0;; ++i) {
      const Clock::time_point scheduled =
          start_ + std::chrono::nanoseconds(std::llround(static_cast<double>(i) * interval_nanoseconds));
      if (Clock::now() < scheduled) std::this_thread::sleep_until(scheduled);
      const std::optional<int64_t> customer_id = ClaimSend(scheduled);
      if (!customer_id) break;
      Send(*customer_id, scheduled);
    }
  }

  bool Finished() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return sending_done_ && outstanding_ == 0; }

  // Waits for the last answer (each call has a deadline, so this ends),
  // printing a progress line every second.
  void WaitUntilFinished() ABSL_LOCKS_EXCLUDED(mu_) {
    const bool terminal = isatty(STDERR_FILENO) == 1;
    int64_t previous_done = 0;
    Clock::time_point previous_time = start_;
    absl::MutexLock lock(&mu_);
    while (!mu_.AwaitWithTimeout(absl::Condition(this, &LoadGenerator::Finished), absl::Seconds(1))) {
      if (!config_.progress) continue;
      const Clock::time_point now = Clock::now();
      const int64_t done = report_.sent - outstanding_;
      const double rate = static_cast<double>(done - previous_done) /
                          std::max(1e-9, std::chrono::duration<double>(now - previous_time).count());
      std::fprintf(stderr, "%sloadgen: %.0fs  sent %lld  done %lld  %.0f/s  errors %lld  in flight %lld%s",
                   terminal ? "\r\033[K" : "", std::chrono::duration<double>(now - start_).count(),
                   static_cast<long long>(report_.sent), static_cast<long long>(done), rate,
                   static_cast<long long>(done - report_.ok), static_cast<long long>(outstanding_),
                   terminal ? "" : "\n");
      std::fflush(stderr);
      previous_done = done;
      previous_time = now;
    }
    if (config_.progress && terminal) std::fprintf(stderr, "\n");
  }

  double ThrottleDraw() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return std::uniform_real_distribution<double>(0, 1)(random_);
  }

  std::unique_ptr<easymoney::AdaptiveThrottle> throttle_;  // Null: nothing refused locally.
  std::vector<std::unique_ptr<v1::Recommender::Stub>> stubs_;
  std::atomic<uint64_t> next_stub_{0};
  const easymoney::CustomerSampler& sampler_;
  const Config config_;
  Clock::time_point start_;
  std::optional<Clock::time_point> end_;  // None: no time limit.

  absl::Mutex mu_;
  Report report_ ABSL_GUARDED_BY(mu_);
  int64_t outstanding_ ABSL_GUARDED_BY(mu_) = 0;
  bool sending_done_ ABSL_GUARDED_BY(mu_) = false;
  Clock::time_point last_completion_ ABSL_GUARDED_BY(mu_);
  std::mt19937_64 random_ ABSL_GUARDED_BY(mu_);
};

// Reads one id per line (blank lines and '#' comments skipped), or a model
// version directory's customer_ids.npy.
absl::StatusOr<std::vector<int64_t>> ReadCustomerIds(const std::string& path) {
  struct stat info;
  if (stat(path.c_str(), &info) != 0) return absl::NotFoundError(absl::StrCat("--customers-file ", path, " does not exist"));
  if (S_ISDIR(info.st_mode)) {
    const std::string npy_path = path + "/customer_ids.npy";
    if (stat(npy_path.c_str(), &info) != 0) {
      return absl::NotFoundError(absl::StrCat("--customers-file: ", path,
                                              " is a directory without customer_ids.npy; give a model version "
                                              "directory such as models/3"));
    }
    auto ids = easymoney::ReadNpy<int64_t>(npy_path);
    if (!ids.ok()) return ids.status();
    if (ids->data.empty()) return absl::InvalidArgumentError(absl::StrCat(npy_path, " holds no customers"));
    return std::move(ids->data);
  }
  std::ifstream file(path);
  if (!file) return absl::NotFoundError(absl::StrCat("cannot open --customers-file ", path));
  std::vector<int64_t> ids;
  std::string line;
  for (int line_number = 1; std::getline(file, line); ++line_number) {
    const absl::string_view text = absl::StripAsciiWhitespace(line);
    if (text.empty() || text[0] == '#') continue;
    int64_t id = 0;
    if (!absl::SimpleAtoi(text, &id)) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":", line_number, ": '", text, "' is not a customer id (one decimal id per line)"));
    }
    ids.push_back(id);
  }
  if (ids.empty()) return absl::InvalidArgumentError(absl::StrCat(path, " holds no customer ids"));
  return ids;
}

absl::StatusOr<std::unique_ptr<easymoney::CustomerSampler>> MakeSampler() {
  const std::string file = absl::GetFlag(FLAGS_customers_file);
  const std::string range = absl::GetFlag(FLAGS_id_range);
  if (file.empty() == range.empty()) {
    return absl::InvalidArgumentError("give exactly one of --customers-file and --id-range");
  }
  easymoney::CustomerSampler::Options options;
  options.zipf_exponent = absl::GetFlag(FLAGS_zipf);
  if (!file.empty()) {
    auto ids = ReadCustomerIds(file);
    if (!ids.ok()) return ids.status();
    options.customer_ids = *std::move(ids);
  } else {
    const std::vector<absl::string_view> bounds = absl::StrSplit(range, ':');
    if (bounds.size() != 2 || !absl::SimpleAtoi(bounds[0], &options.first_id) ||
        !absl::SimpleAtoi(bounds[1], &options.last_id)) {
      return absl::InvalidArgumentError(absl::StrCat("--id-range must be A:B with integers A <= B, got '", range, "'"));
    }
  }
  return easymoney::CustomerSampler::Create(std::move(options));
}

std::string CodeName(int code) {
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

double Milliseconds(absl::Duration duration) { return absl::ToDoubleMilliseconds(duration); }

// {"p50": .., "p90": .., "p99": .., "p999": .., "max": .., "mean": .., "min": ..} in milliseconds.
std::string PercentilesJson(const easymoney::LatencyRecorder& latencies) {
  return absl::StrFormat(
      "{\"p50\": %.4f, \"p90\": %.4f, \"p99\": %.4f, \"p999\": %.4f, \"max\": %.4f, \"mean\": %.4f, \"min\": %.4f}",
      Milliseconds(latencies.Percentile(50)), Milliseconds(latencies.Percentile(90)),
      Milliseconds(latencies.Percentile(99)), Milliseconds(latencies.Percentile(99.9)), Milliseconds(latencies.max()),
      Milliseconds(latencies.mean()), Milliseconds(latencies.min()));
}

void PrintPercentiles(const char* label, const easymoney::LatencyRecorder& latencies, const char* what) {
  std::printf("%s  p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f  (mean %.3f, %s)\n", label,
              Milliseconds(latencies.Percentile(50)), Milliseconds(latencies.Percentile(90)),
              Milliseconds(latencies.Percentile(99)), Milliseconds(latencies.Percentile(99.9)),
              Milliseconds(latencies.max()), Milliseconds(latencies.mean()), what);
}

void PrintReport(const Report& report, const Config& config, const std::string& target) {
  const easymoney::LatencyRecorder& latencies = report.latencies;
  // Calls refused locally (adaptive throttle) were never sent:
  // they are counted apart, not as errors the server returned.
  const int64_t errors = report.sent - report.ok - report.throttled;
  const double throughput = report.elapsed_seconds > 0 ? static_cast<double>(report.sent) / report.elapsed_seconds : 0;
  if (absl::GetFlag(FLAGS_json)) {
    std::string errors_json;
    for (const auto& [code, count] : report.errors_by_code) {
      absl::StrAppend(&errors_json, errors_json.empty() ? "" : ", ", "\"", CodeName(code), "\": ", count);
    }
    // Open loop only: service latency (from hand-off to gRPC) and send lag.
    std::string open_loop_json;
    if (config.rate > 0) {
      open_loop_json = absl::StrCat(", \"service_latency_ms\": ", PercentilesJson(report.service_latencies),
                                    ", \"send_lag_ms\": ", PercentilesJson(report.send_lags));
    }
    std::printf(
        "{\"target\": \"%s\", \"mode\": \"%s\", \"concurrency\": %d, \"rate\": %.6g, \"elapsed_seconds\": %.6f, "
        "\"requests\": %lld, \"ok\": %lld, \"errors\": %lld, \"throttled\": %lld, "
        "\"errors_by_code\": {%s}, "
        "\"throughput_per_second\": %.3f, \"latency_ms\": %s%s}\n",
        target.c_str(), config.rate > 0 ? "open" : "closed", config.rate > 0 ? 0 : config.concurrency, config.rate,
        report.elapsed_seconds, static_cast<long long>(report.sent), static_cast<long long>(report.ok),
        static_cast<long long>(errors), static_cast<long long>(report.throttled), errors_json.c_str(), throughput,
        PercentilesJson(latencies).c_str(), open_loop_json.c_str());
    return;
  }
  if (config.rate > 0) {
    std::printf("%s: open loop at %.0f requests/s, %.2f s\n", target.c_str(), config.rate, report.elapsed_seconds);
  } else {
    std::printf("%s: closed loop, concurrency %d, %.2f s\n", target.c_str(), config.concurrency,
                report.elapsed_seconds);
  }
  std::printf("requests    %lld (ok %lld, errors %lld", static_cast<long long>(report.sent),
              static_cast<long long>(report.ok), static_cast<long long>(errors));
  if (config.adaptive_throttle > 0) std::printf(", refused locally %lld", static_cast<long long>(report.throttled));
  std::printf(")\n");
  std::printf("throughput  %.1f requests/s\n", throughput);
  PrintPercentiles("latency ms ", latencies,
                   config.rate > 0 ? "successful requests, from the scheduled send" : "successful requests");
  if (config.rate > 0) {
    PrintPercentiles("service ms ", report.service_latencies, "successful requests, from the hand-off to gRPC");
    PrintPercentiles("send lag ms", report.send_lags, "every request, hand-off behind schedule");
  }
  for (const auto& [code, count] : report.errors_by_code) {
    std::printf("errors      %s: %lld\n", CodeName(code).c_str(), static_cast<long long>(count));
  }
}

int UsageError(absl::string_view message) {
  std::fprintf(stderr, "recommender-loadgen: %s\n", std::string(message).c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args = easymoney::ParseToolFlags(argc, argv, kUsage);
  if (!args.empty()) return UsageError(absl::StrCat("unexpected argument '", args[0], "'; see --help"));
  const std::string target = absl::GetFlag(FLAGS_target);
  if (absl::Status loopback = easymoney::CheckLoopbackTarget(target); !loopback.ok()) {
    return UsageError(loopback.message());
  }
  Config config;
  config.rate = absl::GetFlag(FLAGS_rate);
  config.concurrency = absl::GetFlag(FLAGS_concurrency);
  config.max_outstanding = absl::GetFlag(FLAGS_max_outstanding);
  config.adaptive_throttle = absl::GetFlag(FLAGS_adaptive_throttle);
  if (config.adaptive_throttle != 0 && !(config.adaptive_throttle >= 1)) {
    return UsageError("--adaptive-throttle must be 0 (off) or at least 1");
  }
  config.adaptive_throttle_window = absl::GetFlag(FLAGS_adaptive_throttle_window);
  if (config.adaptive_throttle_window <= absl::ZeroDuration()) {
    return UsageError("--adaptive-throttle-window must be positive");
  }
  config.duration = absl::GetFlag(FLAGS_duration);
  config.max_requests = absl::GetFlag(FLAGS_requests);
  config.num_results = absl::GetFlag(FLAGS_n);
  config.timeout = absl::GetFlag(FLAGS_timeout);
  config.seed = absl::GetFlag(FLAGS_seed);
  config.progress = absl::GetFlag(FLAGS_progress);
  if (!std::isfinite(config.rate) || config.rate < 0) return UsageError("--rate must be >= 0 (0: closed loop)");
  if (config.rate == 0 && config.concurrency < 1) return UsageError("--concurrency must be >= 1");
  if (config.max_outstanding < 1) return UsageError("--max-outstanding must be >= 1");
  if (config.duration < absl::ZeroDuration() || config.max_requests < 0) {
    return UsageError("--duration and --requests must not be negative");
  }
  if (config.duration == absl::ZeroDuration() && config.max_requests == 0) {
    return UsageError("the run must be bounded: give --duration > 0 and/or --requests > 0");
  }
  if (config.timeout <= absl::ZeroDuration()) return UsageError("--timeout must be > 0");

  auto sampler = MakeSampler();
  if (!sampler.ok()) return UsageError(sampler.status().message());

  absl::StatusOr<easymoney::ChannelSecurity> security = easymoney::ChannelSecurityFromFlags();
  if (!security.ok()) return UsageError(security.status().message());
  if (!security->token.empty()) config.authorization = "Bearer " + security->token;
  auto credentials = easymoney::ChannelCredentialsFor(*security);
  if (!credentials.ok()) return UsageError(credentials.status().message());
  const int channel_count = absl::GetFlag(FLAGS_channels);
  if (channel_count < 1 || channel_count > 1000) return UsageError("--channels must be in 1..1000");
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < channel_count; ++i) {
    auto balanced = easymoney::CreateBalancedChannel(target, absl::GetFlag(FLAGS_lb_policy), *credentials,
                                                     /*private_connection=*/channel_count > 1);
    if (!balanced.ok()) return UsageError(balanced.status().message());
    channels.push_back(*std::move(balanced));
  }
  for (const auto& channel : channels) {
    if (!channel->WaitForConnected(std::chrono::system_clock::now() +
                                   absl::ToChronoNanoseconds(absl::GetFlag(FLAGS_connect_timeout)))) {
      std::fprintf(stderr, "recommender-loadgen: cannot connect to %s within %s\n", target.c_str(),
                   absl::FormatDuration(absl::GetFlag(FLAGS_connect_timeout)).c_str());
      return 1;
    }
  }
  LoadGenerator generator(channels, **sampler, config);
  const Report report = generator.Run();
  PrintReport(report, config, target);
  return 0;
}
