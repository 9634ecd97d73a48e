#include "core/training/eligibility.h"

#include <algorithm>
#include <string>

namespace easymoney {

uint16_t AdultOnlyMask() {
  uint16_t mask = 0;
  for (int p = 0; p < kNumProducts; ++p) {
    for (const char* id : kAdultOnlyProducts) {
      if (kProducts[p].id == id) mask = static_cast<uint16_t>(mask | (1u << p));
    }
  }
  return mask;
}

uint16_t NeverRecommendMask(const DataQualityReport& quality) {
  uint16_t mask = 0;
  for (int p = 0; p < kNumProducts; ++p) {
    if (std::find(quality.zero_variance_products.begin(), quality.zero_variance_products.end(),
                  std::string(kProducts[p].id)) != quality.zero_variance_products.end()) {
      mask = static_cast<uint16_t>(mask | (1u << p));
    }
  }
  return mask;
}

uint16_t Acquired(const EasyMoneyTables& tables, int partition, size_t row) {
  const uint16_t before = partition > 0 ? tables.at(partition - 1, row).holdings : 0;
  return static_cast<uint16_t>(tables.at(partition, row).holdings & ~before);
}

}  // namespace easymoney
