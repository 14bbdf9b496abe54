// platform/sha256.h on Windows: CNG (BCryptOpenAlgorithmProvider SHA256, BCryptCreateHash), so no OpenSSL is
// cross-built for one hash. A failure of these calls means a broken system: the digest is then "",
// which never matches a published SHA-256, so the pull reports a mismatch instead of keeping an unchecked file.
#include "platform/sha256.h"

#include <windows.h>

#include <bcrypt.h>

#include <algorithm>

namespace llmdesk::platform {

struct Sha256::Ctx {
  BCRYPT_ALG_HANDLE algorithm = nullptr;
  BCRYPT_HASH_HANDLE hash = nullptr;
  bool failed = false;
  Ctx() {
    if (!BCRYPT_SUCCESS(BCryptOpenAlgorithmProvider(&algorithm, BCRYPT_SHA256_ALGORITHM, nullptr, 0))) algorithm = nullptr;
  }
  ~Ctx() {
    if (hash) BCryptDestroyHash(hash);
    if (algorithm) BCryptCloseAlgorithmProvider(algorithm, 0);
  }
};

Sha256::Sha256() : ctx_(std::make_unique<Ctx>()) { Reset(); }
Sha256::~Sha256() = default;

void Sha256::Reset() {
  if (ctx_->hash) BCryptDestroyHash(ctx_->hash);
  ctx_->hash = nullptr;
  ctx_->failed = !ctx_->algorithm ||
                 !BCRYPT_SUCCESS(BCryptCreateHash(ctx_->algorithm, &ctx_->hash, nullptr, 0, nullptr, 0, 0));
}

void Sha256::Update(std::string_view bytes) {
  while (!ctx_->failed && !bytes.empty()) {
    const ULONG chunk = static_cast<ULONG>(std::min<size_t>(bytes.size(), 1u << 30));
    auto* data = reinterpret_cast<PUCHAR>(const_cast<char*>(bytes.data()));
    ctx_->failed = !BCRYPT_SUCCESS(BCryptHashData(ctx_->hash, data, chunk, 0));
    bytes.remove_prefix(chunk);
  }
}

std::string Sha256::HexDigest() {
  unsigned char digest[32];
  if (ctx_->failed || !BCRYPT_SUCCESS(BCryptFinishHash(ctx_->hash, digest, sizeof digest, 0))) return "";
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char b : digest) out += kHex[b >> 4], out += kHex[b & 15];
  return out;
}

}  // namespace llmdesk::platform
