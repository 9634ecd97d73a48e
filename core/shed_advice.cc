#include "core/shed_advice.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace easymoney {

std::string FormatShare(double share) {
  const long thousandths = std::lround(std::clamp(share, 0.0, 1.0) * 1000);
  if (thousandths == 0) return "0";
  if (thousandths >= 1000) return "1";
  // Zero-padded to three digits: 5 thousandths is "0.005".
  const std::string digits = absl::StrCat(thousandths + 1000);
  return absl::StrCat("0.", absl::string_view(digits).substr(1));
}

std::optional<double> ParseShare(absl::string_view text) {
  double share = 0;
  if (!absl::SimpleAtod(text, &share) || !std::isfinite(share)) return std::nullopt;
  return std::clamp(share, 0.0, kMaxAdvisedShare);
}

}  // namespace easymoney
