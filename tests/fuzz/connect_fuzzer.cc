// libFuzzer target: the Connect port's request parsing on arbitrary bytes
// (server/connect_protocol.cc), as the HTTP handler runs it before any call.
//
// The first byte picks the message (0 RecommendProductsRequest, 1
// RecommendProductsBatchRequest, 2 ReportFeedbackRequest, 3
// GetModelInfoRequest) and the codec (bit 2: binary protobuf, else JSON);
// the rest is the body. A body that decodes re-encodes in that codec and
// decodes again to the same message; a refusal is INVALID_ARGUMENT with a
// printable message. The same bytes as a Content-Type and a
// Connect-Timeout-Ms value are parsed too: never a crash, and a timeout
// that parses is 0 to 9,999,999,999 ms.

#include <cstdint>
#include <memory>
#include <string>

#include "easymoney/recommender/v1/recommender.pb.h"
#include "server/connect_protocol.h"
#include "tests/fuzz/fuzz_check.h"

namespace easymoney {
namespace {

namespace v1 = easymoney::recommender::v1;

std::unique_ptr<google::protobuf::Message> MessageOf(uint8_t selector) {
  switch (selector & 3) {
    case 0:
      return std::make_unique<v1::RecommendProductsRequest>();
    case 1:
      return std::make_unique<v1::RecommendProductsBatchRequest>();
    case 2:
      return std::make_unique<v1::ReportFeedbackRequest>();
    default:
      return std::make_unique<v1::GetModelInfoRequest>();
  }
}

}  // namespace
}  // namespace easymoney

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace easymoney;
  if (size == 0) return 0;
  const absl::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  const ConnectCodec codec = (data[0] & 4) != 0 ? ConnectCodec::kProto : ConnectCodec::kJson;

  std::unique_ptr<google::protobuf::Message> message = MessageOf(data[0]);
  const absl::Status decoded = DecodeConnectRequest(codec, body, message.get());
  if (decoded.ok()) {
    const std::string encoded = EncodeConnectResponse(codec, *message);
    std::unique_ptr<google::protobuf::Message> again = MessageOf(data[0]);
    FUZZ_CHECK(DecodeConnectRequest(codec, encoded, again.get()).ok());
    // Compared as bytes: "NaN" is a valid JSON double, and NaN != NaN. (The
    // messages have no maps, so their serialization is deterministic.)
    FUZZ_CHECK(message->SerializeAsString() == again->SerializeAsString());
  } else {
    FUZZ_CHECK(decoded.code() == absl::StatusCode::kInvalidArgument);
    FUZZ_CHECK(fuzz::IsPrintableText(decoded.message()));
  }

  (void)ConnectCodecOf(body);
  const absl::StatusOr<absl::Duration> timeout = ParseConnectTimeout(body);
  if (timeout.ok()) {
    FUZZ_CHECK(*timeout >= absl::ZeroDuration() && *timeout <= absl::Milliseconds(9999999999));
  }
  return 0;
}
