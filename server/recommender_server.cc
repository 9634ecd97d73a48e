#include "server/recommender_server.h"

#include <chrono>
#include <cmath>
#include <cstdio>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include "core/serving/cluster_reassignment.h"
#include "core/util/file_io.h"
#include "core/util/process_cpu.h"
#include "core/util/proto_json.h"
#include "server/protobuf_log.h"
#include "server/server_settings.h"

#include "absl/strings/str_cat.h"

namespace easymoney {

absl::StatusOr<std::unique_ptr<RecommenderServer>> RecommenderServer::Create(const Options& options) {
  std::unique_ptr<RecommenderServer> server(new RecommenderServer());
  // Protection first: a typo in a TLS or token path fails at once, before
  // any port is bound.
  if (!options.auth_token_file.empty()) {
    auto tokens = AccessTokenFile::Open(options.auth_token_file);
    if (!tokens.ok()) return tokens.status();
    server->tokens_ = *std::move(tokens);
    std::fprintf(stderr, "recommender-server: %d bearer tokens from %s\n", server->tokens_->Current()->size(),
                 options.auth_token_file.c_str());
  }
  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
  if (options.tls.has_value()) {
    auto tls = TlsServerCredentialsFor(*options.tls);
    if (!tls.ok()) return tls.status();
    credentials = *std::move(tls);
  }
  InstallProtobufLogLimiter();
  auto metrics = ServerMetrics::Create(options.metrics_address);
  if (!metrics.ok()) return metrics.status();
  server->metrics_ = *std::move(metrics);
  if (server->tokens_ != nullptr) server->metrics_->OnTokenReload(true, server->tokens_->Current()->size());
  if (options.tls.has_value()) {
    server->certificate_file_ = options.tls->cert_file;
    server->tls_refresh_interval_ = options.tls->refresh_interval;
    server->UpdateCertificateExpiry();
  }
  server->authorizer_ = std::make_unique<CallAuthorizer>(server->tokens_.get(), server->metrics_.get());
  if (!options.feedback_key_file.empty()) {
    auto keys = SigningKeyFile::Open(options.feedback_key_file);
    if (!keys.ok()) return keys.status();
    server->signing_keys_ = *std::move(keys);
    SigningKeyFile* file = server->signing_keys_.get();
    server->request_ids_ = std::make_unique<RequestIdSigner>([file] { return file->Current(); });
  } else {
    // Without a shared key, ids verify only on this process: fine for one
    // server, wrong behind a load balancer (feedback that reaches another
    // replica, or this one after a restart, is refused).
    auto keys = SigningKeys::Random();
    if (!keys.ok()) return keys.status();
    auto shared = std::make_shared<const SigningKeys>(*std::move(keys));
    server->request_ids_ = std::make_unique<RequestIdSigner>([shared] { return shared; });
  }
  if (!options.event_log_dir.empty()) {
    EventLog::Options log_options;
    log_options.directory = options.event_log_dir;
    log_options.max_segment_bytes = options.event_log_segment_bytes;
    ServerMetrics* metrics_raw = server->metrics_.get();
    log_options.on_commit = [metrics_raw](double seconds, int) { metrics_raw->OnEventLogCommit(seconds); };
    log_options.on_error = [metrics_raw] { metrics_raw->OnEventLogError(); };
    auto event_log = EventLog::Open(std::move(log_options));
    if (!event_log.ok()) return event_log.status();
    server->event_log_ = *std::move(event_log);
    server->feedback_ = std::make_unique<FeedbackRecorder>(server->event_log_.get(), server->request_ids_.get(),
                                                           FeedbackRecorder::Options{.window = options.feedback_window});
    // Events already recorded are not counted again when a backend retries
    // across a restart.
    auto history = server->feedback_->LoadHistory();
    if (!history.ok()) return history.status();
    std::fprintf(stderr, "recommender-server: event log %s (%lld feedback events already recorded)\n",
                 server->event_log_->current_segment().c_str(), static_cast<long long>(*history));
  }
  if (options.shed_on_cpu_saturation) server->cpu_shed_ = std::make_unique<CpuShedController>(options.cpu_shed);
  server->admission_ = std::make_unique<Admission>(Admission::Options{.max_in_flight = options.max_in_flight,
                                                                      .overload_grace = options.overload_grace,
                                                                      .cpu_shed = server->cpu_shed_.get()});

  auto audit = AuditLog::Open(options.audit_log_path);
  if (!audit.ok()) return audit.status();
  server->audit_ = *std::move(audit);

  // The manager loads before the gRPC server starts, so a server that
  // reports SERVING has its model in memory.
  ModelManager::Options manager_options;
  manager_options.model_base = options.model_base;
  manager_options.poll_interval = options.poll_interval;
  manager_options.version_policy = options.version_policy;
  manager_options.fleet_routing_source = options.fleet_routing_source;
  server->fleet_routing_source_ = options.fleet_routing_source;
  server->model_base_ = options.model_base;
  manager_options.keep_previous = options.keep_previous;
  manager_options.load_options.map_customer_arrays = options.map_model_arrays;
  // Publications from the poll thread touch grpc_server_: start polling
  // only once the server is fully built.
  manager_options.start_polling = false;
  RecommenderServer* self = server.get();
  manager_options.attach = [self](const ServingSet& serving) -> std::shared_ptr<const ServingSetAttachment> {
    return self->metrics_->ForServingSet(serving);
  };
  manager_options.on_publish = [self](const std::shared_ptr<const ServingSet>& serving) { self->OnPublish(serving); };
  manager_options.on_failure = [self](int64_t, const absl::Status&) { self->metrics_->OnModelLoadFailed(); };
  manager_options.on_files_changed = [self](int64_t) { self->metrics_->OnModelFilesChanged(); };
  auto models = ModelManager::Create(std::move(manager_options));
  if (!models.ok()) return models.status();
  server->models_ = *std::move(models);
  server->admin_service_ = std::make_unique<ModelAdminService>(server->models_.get(), server->audit_.get(),
                                                               server->authorizer_.get());
  server->calls_ = std::make_unique<RecommenderCalls>(
      RecommenderCalls::Options{.metrics = server->metrics_.get(),
                                .models = server->models_.get(),
                                .admission = server->admission_.get(),
                                .window = &server->window_,
                                .feedback = server->feedback_.get(),
                                .request_ids = server->request_ids_.get(),
                                .event_log = server->event_log_.get(),
                                .served_log_sample = options.served_log_sample});
  server->service_ = std::make_unique<RecommenderService>(server->calls_.get(), server->authorizer_.get(),
                                                          server->admission_.get());

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  ServerMetrics* server_metrics = server->metrics_.get();
  auto listener = ConnectionListener::Bind(
      {.address = options.grpc_address, .on_refused = [server_metrics] { server_metrics->OnConnectionRefused("grpc"); }});
  if (!listener.ok()) return listener.status();
  server->listener_ = *std::move(listener);
  server->port_ = server->listener_->port();
  grpc::ServerBuilder builder;
  ApplyServerSettings(builder);
  auto acceptor = builder.experimental().AddExternalConnectionAcceptor(
      grpc::ServerBuilder::experimental_type::ExternalConnectionType::FROM_FD, credentials);
  builder.RegisterService(server->service_.get());
  builder.RegisterService(server->admin_service_.get());
  server->grpc_server_ = builder.BuildAndStart();
  if (server->grpc_server_ == nullptr) {
    return absl::UnavailableError(absl::StrCat("cannot start the gRPC server on ", options.grpc_address));
  }
  server->listener_->Start(std::move(acceptor));
  // Not ready until a model is published (load balancers and Kubernetes
  // probes read this).
  if (!options.health_address.empty()) {
    // Health only, plaintext: for probes that run inside the pod or
    // container (exec probes, Docker HEALTHCHECK) and cannot present the
    // client certificate or token the main port asks for. It says nothing
    // about customers, so it needs no protection; bind it to loopback.
    // The probe's port may use half of the descriptors the main port keeps
    // back, so that while connections to the main port are refused a probe
    // still connects and reads NOT_SERVING.
    const int main_bound = server->listener_->max_descriptors();
    auto health_listener = ConnectionListener::Bind(
        {.address = options.health_address,
         .max_descriptors = main_bound + (ConnectionListener::DescriptorLimit() - main_bound) / 2,
         .on_refused = [server_metrics] { server_metrics->OnConnectionRefused("health"); }});
    if (!health_listener.ok()) return health_listener.status();
    server->health_listener_ = *std::move(health_listener);
    server->health_port_ = server->health_listener_->port();
    grpc::ServerBuilder health_builder;
    ApplyServerSettings(health_builder);
    auto health_acceptor = health_builder.experimental().AddExternalConnectionAcceptor(
        grpc::ServerBuilder::experimental_type::ExternalConnectionType::FROM_FD, grpc::InsecureServerCredentials());
    server->health_server_ = health_builder.BuildAndStart();
    if (server->health_server_ == nullptr) {
      return absl::UnavailableError(absl::StrCat("cannot start the health server on ", options.health_address));
    }
    server->health_listener_->Start(std::move(health_acceptor));
  }
  if (!options.http_address.empty()) {
    const bool mutual_tls = options.tls.has_value() && !options.tls->client_ca_file.empty();
    server->connect_service_ =
        std::make_unique<ConnectService>(server->calls_.get(), server->authorizer_.get(), mutual_tls);
    HttpServer::Options http;
    http.address = options.http_address;
    http.threads = options.http_threads;
    // Below the gRPC port's descriptor bound, so HTTP connections alone
    // never bring the gRPC port to refuse.
    http.max_connections =
        std::max(1, std::min(options.http_max_connections, ConnectionListener::DescriptorLimit() / 4));
    http.max_connections_per_ip = options.http_max_connections_per_ip;
    http.idle_timeout = options.http_idle_timeout;
    http.max_body_bytes = kMaxRequestBytes;
    http.too_large = ConnectService::TooLarge(kMaxRequestBytes);
    if (options.tls.has_value()) {
      http.tls_cert_file = options.tls->cert_file;
      http.tls_key_file = options.tls->key_file;
      http.tls_client_ca_file = options.tls->client_ca_file;
    }
    ConnectService* connect = server->connect_service_.get();
    auto http_server = HttpServer::Start(
        http, [connect](HttpServer::Request&& request, HttpServer::Respond respond) {
          connect->Handle(std::move(request), std::move(respond));
        });
    if (!http_server.ok()) return http_server.status();
    server->http_server_ = *std::move(http_server);
  }
  server->SetServing(server->models_->Current() != nullptr);
  server->analysis_thread_ = std::thread([self] { self->AnalysisLoop(); });
  if (server->cpu_shed_ != nullptr) {
    const absl::Duration interval = options.cpu_shed_interval;
    server->cpu_shed_thread_ = std::thread([self, interval] { self->CpuShedLoop(interval); });
  }
  server->models_->StartPolling();
  return server;
}

RecommenderServer::~RecommenderServer() {
  {
    absl::MutexLock lock(&analysis_mu_);
    stopping_ = true;
  }
  if (analysis_thread_.joinable()) analysis_thread_.join();
  if (cpu_shed_thread_.joinable()) cpu_shed_thread_.join();
  Shutdown(absl::ZeroDuration());
  // Stop the poller before the services it publishes to go away.
  models_.reset();
  // Everything appended (served answers after their response) reaches the
  // disk before the log closes.
  if (event_log_ != nullptr) event_log_->Flush();
}

void RecommenderServer::OnPublish(const std::shared_ptr<const ServingSet>& serving) {
  if (feedback_ != nullptr) {
    for (const Model* model : {serving->stable.get(), serving->canary.get()}) {
      if (model != nullptr) feedback_->AddVersion(*model);
    }
  }
  // A new canary starts from an empty window: the previous rollout's
  // traffic says nothing about it.
  const int64_t canary = serving->canary ? serving->canary->version() : 0;
  if (analysed_canary_.exchange(canary) != canary) window_.Reset();
  metrics_->OnPublished(*serving->stable, serving->canary.get());
  SetServing(true);
}

void RecommenderServer::UpdateReassignedShare(const ServingSet& serving) {
  if (compared_stable_ == serving.stable) return;
  if (compared_stable_ != nullptr && compared_stable_->version() != serving.stable->version()) {
    const double share = ReassignedShare(*compared_stable_, *serving.stable);
    if (!std::isnan(share)) metrics_->SetClusterReassignedRatio(share);
  }
  compared_stable_ = serving.stable;
}

void RecommenderServer::AnalysisLoop() {
  int seconds_since_certificate_check = 0;
  while (true) {
    {
      absl::MutexLock lock(&analysis_mu_);
      auto stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(analysis_mu_) { return stopping_; };
      analysis_mu_.AwaitWithTimeout(absl::Condition(&stopping), absl::Seconds(1));
      if (stopping_) return;
    }
    metrics_->SetInFlight(admission_->in_flight());
    SetRefusingConnections(listener_->RefusedRecently(absl::Seconds(5)));
    ReloadTokens();
    ReloadSigningKeys();
    if (feedback_ != nullptr) {
      for (int r = 0; r < kNumFeedbackRefusals; ++r) {
        const auto refusal = static_cast<FeedbackRefusal>(r);
        metrics_->SetFeedbackRefused(refusal, feedback_->refused(refusal));
      }
    }
    // The Connect port takes renewed TLS files as often as gRPC's watcher
    // does (the port goes on with the old ones if the new do not load).
    if (http_server_ != nullptr && !certificate_file_.empty() && absl::Now() >= next_http_tls_check_) {
      next_http_tls_check_ = absl::Now() + tls_refresh_interval_;
      if (absl::Status reloaded = http_server_->ReloadTlsIfChanged(); !reloaded.ok()) {
        std::fprintf(stderr, "recommender-server: %s\n", std::string(reloaded.message()).c_str());
      }
    }
    // A renewed certificate is taken by gRPC's watcher; its new date shows
    // here within a minute.
    if (!certificate_file_.empty() && ++seconds_since_certificate_check == 60) {
      seconds_since_certificate_check = 0;
      UpdateCertificateExpiry();
    }
    metrics_->SetRoutingProblems(static_cast<int>(models_->RoutingProblems()->size()));
    metrics_->SetProtobufLogLines(ProtobufLogLines());
    const std::shared_ptr<const ServingSet> serving = models_->Current();
    if (serving == nullptr) continue;
    for (const auto& handles : serving->attached<ServingSetMetrics>().variants) {
      if (handles != nullptr) metrics_->UpdateDrift(*handles);
    }
    UpdateReassignedShare(*serving);
    UpdateRealisedQuality(*serving);
    if (serving->canary && serving->analysis.enabled()) AnalyseCanary(*serving);
  }
}

void RecommenderServer::UpdateRealisedQuality(const ServingSet& serving) {
  std::vector<int64_t> versions = {serving.stable->version()};
  if (serving.canary) versions.push_back(serving.canary->version());
  const std::string path = model_base_ + "/realised_quality.json";
  const FileStamp stamp = StampOf(path);
  if (stamp == realised_stamp_ && versions == realised_versions_) return;
  if (!(stamp == realised_stamp_)) {
    realised_stamp_ = stamp;
    realised_.Clear();
    if (stamp.size >= 0) {
      absl::StatusOr<std::string> text = ReadFileToString(path);
      absl::Status parsed = text.ok() ? ParseProtoJson(*text, &realised_) : text.status();
      if (!parsed.ok()) {
        realised_.Clear();
        std::fprintf(stderr, "recommender-server: %s ignored: %s\n", path.c_str(),
                     std::string(parsed.message()).c_str());
      }
    }
  }
  realised_versions_ = versions;
  metrics_->SetRealisedQuality(realised_, versions);
}

void RecommenderServer::CpuShedLoop(absl::Duration interval) {
  int64_t last_cpu = ProcessCpuNanos();
  Admission::Counters last = admission_->counters();
  auto last_wall = std::chrono::steady_clock::now();
  while (true) {
    {
      absl::MutexLock lock(&analysis_mu_);
      auto stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(analysis_mu_) { return stopping_; };
      analysis_mu_.AwaitWithTimeout(absl::Condition(&stopping), interval);
      if (stopping_) return;
    }
    const int64_t cpu = ProcessCpuNanos();
    const Admission::Counters counters = admission_->counters();
    const auto wall = std::chrono::steady_clock::now();
    CpuShedController::Window window;
    window.seconds = std::chrono::duration<double>(wall - last_wall).count();
    // Read each window: a pod's CPU limit or the affinity may change.
    window.cpus = UsableCpus();
    window.cpu_seconds = static_cast<double>(cpu - last_cpu) * 1e-9;
    window.calls = counters.calls - last.calls;
    window.admitted = counters.admitted - last.admitted;
    // Handler work is wall time on the handlers' threads, which includes
    // waiting for the CPU while saturated; bounded by what was used.
    window.work_seconds =
        std::min(window.cpu_seconds, static_cast<double>(counters.work_nanos - last.work_nanos) * 1e-9);
    cpu_shed_->Observe(window);
    const double available = window.seconds * window.cpus;
    metrics_->SetCpuShedding(available > 0 ? std::min(1.0, window.cpu_seconds / available) : 0,
                             CpuShedController::WorkShare(window), cpu_shed_->shed_share());
    last_cpu = cpu;
    last = counters;
    last_wall = wall;
  }
}

void RecommenderServer::AnalyseCanary(const ServingSet& serving) {
  const absl::Duration window = AnalysisWindow(serving.analysis);
  const absl::Time now = absl::Now();
  const std::optional<std::string> reason =
      CanaryVerdict(window_.Summarise(Variant::kStable, window, now), window_.Summarise(Variant::kCanary, window, now),
                    serving.analysis);
  if (!reason.has_value()) return;
  // The fleet's rollout is decided on every replica's counters
  // (recommender-retrain), not on this replica's share of them.
  if (!fleet_routing_source_.empty()) return;
  const int64_t canary = serving.canary->version();
  absl::StatusOr<RoutingState> state = models_->AbandonCanary(canary, *reason);
  if (state.ok()) metrics_->OnAutoRollback();
  audit_->Record("canary-analysis", "AutoRollback", absl::StrCat("canary ", canary, ": ", *reason), state.status());
  if (state.ok()) {
    std::fprintf(stderr, "canary analysis: rolled back canary %lld: %s\n", static_cast<long long>(canary),
                 reason->c_str());
  }
}

void RecommenderServer::UpdateCertificateExpiry() {
  const absl::StatusOr<absl::Time> expiry = CertificateExpiry(certificate_file_);
  if (!expiry.ok()) {
    // gRPC's watcher keeps the certificate it has too, so the date of the
    // last one read stays true.
    std::fprintf(stderr, "recommender-server: cannot read the certificate's expiry: %s\n",
                 std::string(expiry.status().message()).c_str());
    return;
  }
  metrics_->SetCertificateExpiry(*expiry);
}

void RecommenderServer::ReloadSigningKeys() {
  if (signing_keys_ == nullptr) return;
  const absl::StatusOr<bool> reloaded = signing_keys_->ReloadIfChanged();
  if (!reloaded.ok() || *reloaded) {
    audit_->Record("feedback-key-file", "ReloadSigningKeys",
                   absl::StrCat(signing_keys_->path(), ": ", signing_keys_->Current()->size(), " keys in force"),
                   reloaded.status());
  }
  if (!reloaded.ok()) {
    std::fprintf(stderr, "recommender-server: feedback key file refused: %s\n",
                 std::string(reloaded.status().message()).c_str());
  } else if (*reloaded) {
    std::fprintf(stderr, "recommender-server: feedback key file %s reloaded: %d keys, signing with \"%s\"\n",
                 signing_keys_->path().c_str(), signing_keys_->Current()->size(),
                 signing_keys_->Current()->signing().id.c_str());
  }
}

void RecommenderServer::ReloadTokens() {
  if (tokens_ == nullptr) return;
  const absl::StatusOr<bool> reloaded = tokens_->ReloadIfChanged();
  if (!reloaded.ok() || *reloaded) {
    // Who may call is an administrative fact like routing: audited.
    audit_->Record("token-file", "ReloadTokens",
                   absl::StrCat(tokens_->path(), ": ", tokens_->Current()->size(), " tokens in force"),
                   reloaded.status());
  }
  if (!reloaded.ok()) {
    metrics_->OnTokenReload(false, tokens_->Current()->size());
    std::fprintf(stderr, "recommender-server: token file refused: %s\n",
                 std::string(reloaded.status().message()).c_str());
  } else if (*reloaded) {
    metrics_->OnTokenReload(true, tokens_->Current()->size());
    std::fprintf(stderr, "recommender-server: token file %s reloaded: %d tokens\n", tokens_->path().c_str(),
                 tokens_->Current()->size());
  }
}

void RecommenderServer::Wait() { grpc_server_->Wait(); }

void RecommenderServer::StartDrain() {
  absl::MutexLock lock(&health_mu_);
  draining_ = true;
  SetServingLocked(false);
}

void RecommenderServer::Reload() {
  // The scan itself runs on the poll thread: a load in progress there must
  // not hold up the signal thread (a SIGTERM after this SIGHUP).
  models_->RescanSoon();
  ReloadTokens();
  ReloadSigningKeys();
}

void RecommenderServer::Shutdown(absl::Duration grace) {
  if (grpc_server_ == nullptr) return;
  SetServing(false);
  // New connections are refused by the kernel from here on (clients fail
  // over at once); those already open finish their calls.
  listener_->Stop();
  if (health_listener_ != nullptr) health_listener_->Stop();
  const auto deadline = std::chrono::system_clock::now() + absl::ToChronoMilliseconds(grace);
  // The HTTP port stops accepting and finishes the calls it has, within
  // the same grace, beside gRPC.
  std::thread http_stop;
  if (http_server_ != nullptr) http_stop = std::thread([this, grace] { http_server_->Stop(grace); });
  grpc_server_->Shutdown(deadline);
  if (http_stop.joinable()) http_stop.join();
  if (health_server_ != nullptr) health_server_->Shutdown(deadline);
}

void RecommenderServer::SetServing(bool serving) {
  absl::MutexLock lock(&health_mu_);
  published_ = serving;
  UpdateHealthLocked();
}

void RecommenderServer::SetRefusingConnections(bool refusing) {
  absl::MutexLock lock(&health_mu_);
  if (refusing_connections_ == refusing) return;
  refusing_connections_ = refusing;
  std::fprintf(stderr, "recommender-server: %s\n",
               refusing ? "health NOT_SERVING: the gRPC port refuses connections for lack of descriptors"
                        : "the gRPC port accepts connections again");
  UpdateHealthLocked();
}

void RecommenderServer::UpdateHealthLocked() { SetServingLocked(published_ && !refusing_connections_ && !draining_); }

void RecommenderServer::SetServingLocked(bool serving) {
  for (grpc::Server* server : {grpc_server_.get(), health_server_.get()}) {
    if (server == nullptr) continue;
    grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService();
    // The whole server ("") and the service by its name, as docs/api.md
    // promises: probes may ask for either.
    health->SetServingStatus(serving);
    health->SetServingStatus(easymoney::recommender::v1::Recommender::service_full_name(), serving);
  }
}

}  // namespace easymoney
