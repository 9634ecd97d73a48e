#include "client/customer_sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace easymoney {

CustomerSampler::CustomerSampler(Options options, int64_t num_customers, std::vector<double> zipf_cdf,
                                 int64_t zipf_stride)
    : options_(std::move(options)),
      num_customers_(num_customers),
      zipf_cdf_(std::move(zipf_cdf)),
      zipf_stride_(zipf_stride) {}

absl::StatusOr<std::unique_ptr<CustomerSampler>> CustomerSampler::Create(Options options) {
  if (!std::isfinite(options.zipf_exponent) || options.zipf_exponent < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("zipf exponent must be >= 0 (0: uniform), got ", options.zipf_exponent));
  }
  int64_t num_customers = 0;
  if (!options.customer_ids.empty()) {
    num_customers = static_cast<int64_t>(options.customer_ids.size());
  } else {
    if (options.first_id > options.last_id) {
      return absl::InvalidArgumentError(absl::StrCat("customer id range ", options.first_id, ":", options.last_id,
                                                     " is empty; give A:B with A <= B"));
    }
    if (options.last_id - options.first_id == std::numeric_limits<int64_t>::max()) {
      return absl::InvalidArgumentError("customer id range is too wide");
    }
    num_customers = options.last_id - options.first_id + 1;
  }
  std::vector<double> zipf_cdf;
  int64_t zipf_stride = 1;
  if (options.zipf_exponent > 0) {
    if (num_customers > kMaxZipfCustomers) {
      return absl::InvalidArgumentError(absl::StrCat("zipf sampling supports at most ", kMaxZipfCustomers,
                                                     " customers, got ", num_customers));
    }
    zipf_cdf.resize(num_customers);
    double total = 0;
    for (int64_t rank = 1; rank <= num_customers; ++rank) {
      total += std::pow(static_cast<double>(rank), -options.zipf_exponent);
      zipf_cdf[rank - 1] = total;
    }
    // The golden ratio spreads consecutive ranks across the ids.
    zipf_stride = std::max<int64_t>(1, static_cast<int64_t>(0.6180339887 * static_cast<double>(num_customers)));
    while (std::gcd(zipf_stride, num_customers) != 1) ++zipf_stride;
  }
  return std::unique_ptr<CustomerSampler>(
      new CustomerSampler(std::move(options), num_customers, std::move(zipf_cdf), zipf_stride));
}

int64_t CustomerSampler::Next(std::mt19937_64& random) const {
  int64_t index = 0;
  if (zipf_cdf_.empty()) {
    index = std::uniform_int_distribution<int64_t>(0, num_customers_ - 1)(random);
  } else {
    const double target = std::uniform_real_distribution<double>(0, zipf_cdf_.back())(random);
    const auto rank = std::min<int64_t>(
        num_customers_ - 1, std::upper_bound(zipf_cdf_.begin(), zipf_cdf_.end(), target) - zipf_cdf_.begin());
    // rank, stride < 2^25, so the product cannot overflow.
    index = rank * zipf_stride_ % num_customers_;
  }
  return options_.customer_ids.empty() ? options_.first_id + index : options_.customer_ids[index];
}

}  // namespace easymoney
