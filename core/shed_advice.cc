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

std::string FormatDelay(double seconds) {
  const long tenths = std::lround(std::clamp(seconds, 0.0, kMaxReportedDelay) * 1e4);
  return absl::StrCat(tenths / 10, ".", tenths % 10);
}

std::optional<double> ParseDelay(absl::string_view milliseconds) {
  double value = 0;
  if (!absl::SimpleAtod(milliseconds, &value) || !std::isfinite(value)) return std::nullopt;
  return std::clamp(value * 1e-3, 0.0, kMaxReportedDelay);
}

}  // namespace easymoney
