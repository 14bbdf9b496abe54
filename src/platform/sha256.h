// platform/sha256.h — incremental SHA-256: what the hub publishes for LFS files (models/pull.cpp) and what the
// Windows tzdata folder's MANIFEST lists (tools/tz_database_win32.cpp). OpenSSL's libcrypto (sha256_posix.cpp);
// on Windows CNG (sha256_win32.cpp). One object per stream; not thread-safe.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace llmdesk::platform {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(std::string_view bytes);
  std::string HexDigest();  // lowercase hex; ends the stream
  void Reset();

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

}  // namespace llmdesk::platform
