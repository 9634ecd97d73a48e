#include "core/serving/request_id.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <cstring>
#include <random>
#include <string>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace easymoney {
namespace {

constexpr uint8_t kFormat = 1;
constexpr size_t kNonceBytes = 6;
constexpr size_t kTagBytes = 16;
// More products than any answer carries (top-N is capped far below).
constexpr uint64_t kMaxProducts = 4096;

void AppendVarint(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

// Reads a varint from the front of `in`; false when it is cut short or too long.
bool ReadVarint(absl::string_view& in, uint64_t& value) {
  value = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (in.empty()) return false;
    const uint8_t byte = static_cast<uint8_t>(in.front());
    in.remove_prefix(1);
    value |= uint64_t{byte & 0x7fu} << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

// HMAC-SHA256 with the key set up once per thread and key: OpenSSL's
// one-shot HMAC() fetches the algorithm and schedules the key on every call,
// which took 2.1 us of the 2.2 us an id cost (tests/bench/request_id_bench).
class ThreadHmac {
 public:
  ~ThreadHmac() { EVP_MAC_CTX_free(context_); }

  // Starts a MAC under `secret`; false if OpenSSL failed.
  bool Start(const std::string& secret) {
    if (context_ != nullptr && secret == secret_) return EVP_MAC_init(context_, nullptr, 0, nullptr) == 1;
    static EVP_MAC* const hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (hmac == nullptr) return false;
    EVP_MAC_CTX_free(context_);
    context_ = EVP_MAC_CTX_new(hmac);
    secret_ = secret;
    char digest[] = "SHA256";
    const OSSL_PARAM parameters[] = {OSSL_PARAM_construct_utf8_string("digest", digest, 0), OSSL_PARAM_construct_end()};
    if (context_ == nullptr ||
        EVP_MAC_init(context_, reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), parameters) != 1) {
      EVP_MAC_CTX_free(context_);
      context_ = nullptr;
      return false;
    }
    return true;
  }
  void Update(absl::string_view bytes) {
    EVP_MAC_update(context_, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  }
  bool Finish(unsigned char (&tag)[EVP_MAX_MD_SIZE]) {
    size_t length = 0;
    return EVP_MAC_final(context_, tag, &length, sizeof(tag)) == 1 && length >= kTagBytes;
  }

 private:
  EVP_MAC_CTX* context_ = nullptr;
  std::string secret_;
};

// HMAC-SHA256 of payload, a separator and the canonical customer id. On an
// OpenSSL failure the tag is zeros with a random last byte, which no id
// verifies against.
void Tag(const SigningKeys::Key& key, absl::string_view payload, absl::string_view customer,
         unsigned char (&tag)[EVP_MAX_MD_SIZE]) {
  thread_local ThreadHmac hmac;
  if (hmac.Start(key.secret)) {
    hmac.Update(payload);
    hmac.Update(absl::string_view("\0", 1));
    hmac.Update(customer);
    if (hmac.Finish(tag)) return;
  }
  std::memset(tag, 0, sizeof(tag));
  tag[kTagBytes - 1] = static_cast<unsigned char>(std::random_device{}() | 1);
}

uint64_t Nonce() {
  thread_local std::mt19937_64 random(std::random_device{}() ^
                                      std::hash<std::thread::id>{}(std::this_thread::get_id()));
  return random();
}

}  // namespace

std::string RequestIdSigner::Issue(const AnswerClaim& claim, absl::string_view customer_id) const {
  const std::shared_ptr<const SigningKeys> keys = keys_();
  const SigningKeys::Key& key = keys->signing();
  std::string payload;
  payload.reserve(64);
  payload.push_back(static_cast<char>(kFormat));
  payload.push_back(static_cast<char>(key.id.size()));
  payload.append(key.id);
  AppendVarint(payload, static_cast<uint64_t>(claim.model_version));
  payload.push_back(claim.variant == Variant::kCanary ? 1 : 0);
  AppendVarint(payload, static_cast<uint64_t>(claim.served_unix_ms));
  const uint64_t nonce = Nonce();
  for (size_t i = 0; i < kNonceBytes; ++i) payload.push_back(static_cast<char>(nonce >> (8 * i)));
  AppendVarint(payload, claim.product_indices.size());
  for (int32_t index : claim.product_indices) AppendVarint(payload, static_cast<uint64_t>(index));
  unsigned char tag[EVP_MAX_MD_SIZE];
  Tag(key, payload, CanonicalCustomerId(customer_id), tag);
  payload.append(reinterpret_cast<const char*>(tag), kTagBytes);
  std::string id;
  absl::WebSafeBase64Escape(payload, &id);
  return id;
}

absl::StatusOr<AnswerClaim> RequestIdSigner::Verify(absl::string_view request_id,
                                                    absl::string_view customer_id) const {
  const auto malformed = [](absl::string_view what) {
    return absl::InvalidArgumentError(
        absl::StrCat("request_id is not one this service issued (", what,
                     "): echo the request_id of the RecommendProductsResponse unchanged"));
  };
  std::string bytes;
  if (!absl::WebSafeBase64Unescape(request_id, &bytes)) return malformed("not base64url");
  if (bytes.size() < 2 + kNonceBytes + kTagBytes || static_cast<uint8_t>(bytes[0]) != kFormat) {
    return malformed("unknown format");
  }
  const absl::string_view payload(bytes.data(), bytes.size() - kTagBytes);
  const absl::string_view tag(bytes.data() + payload.size(), kTagBytes);
  absl::string_view in = payload.substr(1);
  const size_t id_length = static_cast<uint8_t>(in.front());
  in.remove_prefix(1);
  if (id_length == 0 || id_length > SigningKeys::kMaxIdBytes || in.size() < id_length) return malformed("cut short");
  const absl::string_view key_id = in.substr(0, id_length);
  in.remove_prefix(id_length);

  const std::shared_ptr<const SigningKeys> keys = keys_();
  const SigningKeys::Key* key = keys->Find(key_id);
  if (key == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "request_id was signed with key \"", absl::CHexEscape(key_id),
        "\", which this server does not hold (a retired key, or another deployment's answer)"));
  }
  unsigned char expected[EVP_MAX_MD_SIZE];
  Tag(*key, payload, CanonicalCustomerId(customer_id), expected);
  if (CRYPTO_memcmp(expected, tag.data(), kTagBytes) != 0) {
    return absl::InvalidArgumentError(
        "request_id does not belong to this customer_id (or was altered): echo the request_id of the answer given "
        "to this customer");
  }

  AnswerClaim claim;
  uint64_t version = 0, served = 0, count = 0;
  if (!ReadVarint(in, version) || in.empty()) return malformed("cut short");
  claim.model_version = static_cast<int64_t>(version);
  claim.variant = in.front() == 1 ? Variant::kCanary : Variant::kStable;
  in.remove_prefix(1);
  if (!ReadVarint(in, served) || in.size() < kNonceBytes) return malformed("cut short");
  claim.served_unix_ms = static_cast<int64_t>(served);
  in.remove_prefix(kNonceBytes);
  if (!ReadVarint(in, count) || count > kMaxProducts) return malformed("bad product count");
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t index = 0;
    if (!ReadVarint(in, index) || index > INT32_MAX) return malformed("bad product");
    claim.product_indices.push_back(static_cast<int32_t>(index));
  }
  if (!in.empty()) return malformed("trailing bytes");
  return claim;
}

}  // namespace easymoney
