#include "tests/testing/test_model.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "gtest/gtest.h"

namespace easymoney::testing {

TestModel MakeTestModel() {
  TestModel model;
  auto& manifest = model.manifest;
  manifest.set_format_version(kModelFormatVersion);
  manifest.set_created_at("2026-11-23T00:00:00Z");
  manifest.set_num_customers(3);
  manifest.set_num_products(4);
  manifest.set_num_factors(2);
  manifest.set_num_clusters(2);
  manifest.set_num_features(1);
  for (const char* id : {"a", "b", "c", "d"}) {
    auto* product = manifest.add_products();
    product->set_id(id);
    product->set_name(std::string("Product ") + id);
    product->set_family("test");
  }
  auto* feature = manifest.add_features();
  feature->set_name("age");
  feature->set_kind("numeric");
  feature->set_source("age");
  feature->set_mean(40);
  feature->set_stddev(10);

  ModelArrays& arrays = model.arrays;
  arrays.customer_ids = {10, 20, 30};
  arrays.customer_factors.resize(3, 2);
  arrays.customer_factors << 2, 1, 0, 3, 1, 1;
  arrays.product_factors.resize(4, 2);
  arrays.product_factors << 1, 0, 0, 1, 1, 1, 0.5, 0;
  arrays.singular_values.resize(2);
  arrays.singular_values << 2, 1;
  arrays.cluster_centroids.resize(2, 1);
  arrays.cluster_centroids << -1, 1;
  arrays.customer_clusters = {0, 1, 1};
  arrays.holdings_indptr = {0, 1, 1, 3};
  arrays.holdings_indices = {0, 1, 2};
  arrays.product_popularity = {0.5f, 0.1f, 0.3f, 0.3f};
  return model;
}

namespace {

// Every directory MakeTempDir makes lives under one root per test process,
// removed when the process exits (suites run thousands of processes), but
// kept and named on stderr when a test failed, for a look at what it left.
const std::filesystem::path* process_temp_root = nullptr;
pid_t process_temp_root_owner = 0;

void RemoveProcessTempRoot() {
  // A forked child that exits normally must not take its parent's files.
  if (process_temp_root == nullptr || getpid() != process_temp_root_owner) return;
  if (::testing::UnitTest::GetInstance()->Failed()) {
    std::fprintf(stderr, "test files kept in %s\n", process_temp_root->c_str());
    return;
  }
  std::error_code ignored;
  std::filesystem::remove_all(*process_temp_root, ignored);
}

const std::filesystem::path& ProcessTempRoot() {
  static const std::filesystem::path* const root = [] {
    auto* path = new std::filesystem::path(std::filesystem::path(::testing::TempDir()) /
                                           ("easymoney-tests-" + std::to_string(getpid())));
    std::filesystem::remove_all(*path);
    std::filesystem::create_directories(*path);
    process_temp_root = path;
    process_temp_root_owner = getpid();
    // Registered after gtest's UnitTest singleton exists, so it runs before
    // that is destroyed and can still ask whether a test failed.
    std::atexit(RemoveProcessTempRoot);
    return path;
  }();
  return *root;
}

}  // namespace

std::string MakeTempDir(const std::string& name) {
  static std::atomic<int> counter{0};
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::filesystem::path dir =
      ProcessTempRoot() / ((info ? info->name() : "test") + std::string("-") + name + "-" + std::to_string(counter++));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

}  // namespace easymoney::testing
