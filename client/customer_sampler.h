#ifndef EASYMONEY_CLIENT_CUSTOMER_SAMPLER_H_
#define EASYMONEY_CLIENT_CUSTOMER_SAMPLER_H_

#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "absl/status/statusor.h"

namespace easymoney {

// Draws the customer ids a load generator asks for: uniformly, or with a Zipf
// law so that a few customers are hot, as in real traffic.
//
//   auto sampler = CustomerSampler::Create({.customer_ids = ids, .zipf_exponent = 1.1});
//   std::mt19937_64 random(42);
//   int64_t customer_id = (*sampler)->Next(random);
//
// Under Zipf the k-th most popular customer is drawn with probability
// proportional to 1/k^s. Popularity ranks are scattered over the ids (rank r
// is index r * stride mod N, stride coprime with N) rather than given to the
// smallest ids, so hot customers are not neighbours in the model's arrays.
// Immutable after Create; Next() is thread-safe given one random engine per
// thread.
class CustomerSampler {
 public:
  // Zipf keeps a cumulative distribution of 8 bytes per customer.
  static constexpr int64_t kMaxZipfCustomers = 20'000'000;

  struct Options {
    // The ids to draw from. When empty, the inclusive range
    // [first_id, last_id] is used instead.
    std::vector<int64_t> customer_ids;
    int64_t first_id = 0;
    int64_t last_id = -1;
    // 0: uniform. > 0: Zipf with this exponent s (1 is the classic law).
    double zipf_exponent = 0;
  };

  // INVALID_ARGUMENT for no ids, an empty or reversed range, a negative or
  // non-finite exponent, or Zipf over more than kMaxZipfCustomers ids.
  static absl::StatusOr<std::unique_ptr<CustomerSampler>> Create(Options options);

  int64_t Next(std::mt19937_64& random) const;

  // How many distinct ids can be drawn.
  int64_t num_customers() const { return num_customers_; }

 private:
  CustomerSampler(Options options, int64_t num_customers, std::vector<double> zipf_cdf, int64_t zipf_stride);

  const Options options_;
  const int64_t num_customers_;
  // Unnormalised cumulative weights of ranks 1..N; empty when uniform.
  const std::vector<double> zipf_cdf_;
  const int64_t zipf_stride_;
};

}  // namespace easymoney

#endif  // EASYMONEY_CLIENT_CUSTOMER_SAMPLER_H_
