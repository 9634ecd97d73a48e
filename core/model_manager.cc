#include "core/model_manager.h"

#include <cstdio>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "core/model_directory.h"

namespace easymoney {

ModelManager::ModelManager(Options options) : options_(std::move(options)) {}

absl::StatusOr<std::unique_ptr<ModelManager>> ModelManager::Create(Options options) {
  if (options.model_base.empty()) return absl::InvalidArgumentError("model_base is empty");
  std::unique_ptr<ModelManager> manager(new ModelManager(std::move(options)));
  manager->Rescan();
  if (manager->options_.poll_interval > absl::ZeroDuration()) {
    manager->poller_ = std::thread([m = manager.get()] { m->PollLoop(); });
  }
  return manager;
}

ModelManager::~ModelManager() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (poller_.joinable()) poller_.join();
}

void ModelManager::PollLoop() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      auto stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; };
      mu_.AwaitWithTimeout(absl::Condition(&stopping), options_.poll_interval);
      if (stopping_) return;
    }
    Rescan();
  }
}

void ModelManager::Rescan() {
  absl::MutexLock scan_lock(&scan_mu_);
  auto versions = ListModelVersions(options_.model_base);
  if (!versions.ok()) {
    if (!absl::IsNotFound(versions.status())) {
      std::fprintf(stderr, "model manager: %s\n", std::string(versions.status().message()).c_str());
    }
    return;
  }
  const std::shared_ptr<const Model> current = Current();
  const int64_t current_version = current ? current->version() : 0;
  for (auto it = versions->rbegin(); it != versions->rend() && *it > current_version; ++it) {
    const int64_t version = *it;
    {
      absl::MutexLock lock(&mu_);
      if (failures_.contains(version)) continue;
    }
    const std::string dir = (std::filesystem::path(options_.model_base) / std::to_string(version)).string();
    absl::StatusOr<std::shared_ptr<const Model>> model = Model::Load(dir, version);
    if (!model.ok()) {
      // A missing manifest means the version is still being copied in: try
      // again on the next scan rather than marking it failed.
      if (absl::IsNotFound(model.status())) continue;
      std::fprintf(stderr, "model manager: refusing version %lld: %s\n", static_cast<long long>(version),
                   std::string(model.status().message()).c_str());
      {
        absl::MutexLock lock(&mu_);
        failures_.emplace(version, model.status());
      }
      if (options_.on_failure) options_.on_failure(version, model.status());
      continue;
    }
    current_.store(*model, std::memory_order_release);
    std::fprintf(stderr, "model manager: serving version %lld (%lld customers, %d products)\n",
                 static_cast<long long>(version), static_cast<long long>((*model)->num_customers()),
                 (*model)->num_products());
    if (options_.on_publish) options_.on_publish(*model);
    return;
  }
}

absl::Status ModelManager::FailureOf(int64_t version) const {
  absl::MutexLock lock(&mu_);
  const auto it = failures_.find(version);
  return it == failures_.end() ? absl::OkStatus() : it->second;
}

}  // namespace easymoney
