#include "client/loopback_target.h"

#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace easymoney {
namespace {

// Digits only: SimpleAtoi alone would also take "+80" and " 80".
bool ParseDecimal(absl::string_view text, int max_digits, int* value) {
  if (text.empty() || static_cast<int>(text.size()) > max_digits) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return absl::SimpleAtoi(text, value);
}

bool IsLoopbackIpv4(absl::string_view host) {
  const std::vector<absl::string_view> octets = absl::StrSplit(host, '.');
  if (octets.size() != 4) return false;
  for (absl::string_view octet : octets) {
    int value = 0;
    if (!ParseDecimal(octet, 3, &value) || value > 255) return false;
  }
  return octets[0] == "127";
}

// Why one HOST:PORT address is not a loopback address with a port, or ""
// when it is.
std::string RefuseAddress(absl::string_view address) {
  absl::string_view rest = address;
  absl::string_view host;
  absl::string_view port;
  if (absl::ConsumePrefix(&rest, "[")) {
    const size_t close = rest.find(']');
    if (close == absl::string_view::npos) return "has no closing ']'";
    host = rest.substr(0, close);
    rest.remove_prefix(close + 1);
    if (!absl::ConsumePrefix(&rest, ":")) return "has no port";
    port = rest;
    if (host != "::1") return "is not a loopback address";
  } else {
    const size_t colon = rest.rfind(':');
    if (colon == absl::string_view::npos) return "has no port";
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
    if (host != "localhost" && !IsLoopbackIpv4(host)) return "is not a loopback address";
  }
  int port_number = 0;
  if (!ParseDecimal(port, 5, &port_number) || port_number < 1 || port_number > 65535) {
    return "has no valid port (1..65535)";
  }
  return "";
}

}  // namespace

absl::Status CheckLoopbackTarget(absl::string_view target) {
  const auto refuse = [target](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("--target must be a loopback address with a port (127.0.0.0/8, localhost or [::1], e.g. "
                     "127.0.0.1:50051), or a list of them behind ipv4: or ipv6: (e.g. "
                     "ipv4:127.0.0.1:50051,127.0.0.1:50052); '",
                     target, "' ", why));
  };
  absl::string_view rest = target;
  // Only the ipv4: and ipv6: resolvers read a comma-separated list; for the
  // others a comma is part of one (bogus) host name.
  const bool list_allowed = absl::ConsumePrefix(&rest, "ipv4:") || absl::ConsumePrefix(&rest, "ipv6:");
  if (!list_allowed) absl::ConsumePrefix(&rest, "dns:///");
  const std::vector<absl::string_view> addresses = absl::StrSplit(rest, ',');
  if (addresses.size() > 1 && !list_allowed) return refuse("lists several addresses without the ipv4: or ipv6: scheme");
  for (absl::string_view address : addresses) {
    if (addresses.size() > 1 && address.empty()) return refuse("has an empty entry in its address list");
    const std::string why = RefuseAddress(address);
    if (!why.empty()) {
      return refuse(addresses.size() > 1 ? absl::StrCat("has '", address, "', which ", why) : why);
    }
  }
  return absl::OkStatus();
}

}  // namespace easymoney
