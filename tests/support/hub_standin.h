// tests/support/hub_standin.h — a STAND-IN for the Hugging Face hub, for tests without internet. It is not the
// hub: it serves files a test gives it, from memory, under the hub's URL scheme, on 127.0.0.1 (cpp-httplib):
//   GET  /api/models/{owner}/{repo}/tree/{rev}      the file list: [{"type","path","size","oid","lfs":{"oid","size"}}]
//   HEAD|GET /{owner}/{repo}/resolve/{rev}/{path}   302 to the "file host" with X-Linked-Etag: "<sha256>",
//                                                   X-Linked-Size and X-Repo-Commit, as the hub answers
//   HEAD|GET /cdn/{owner}/{repo}/{path}             the bytes: Content-Length, ETag "<sha256>", Range (206)
// Faults a test can ask for: a repo that needs a bearer token (401 without or with a wrong one), a published
// SHA-256 that does not match the bytes, and downloads that drop the connection after N body bytes.
// Thread-safe; the server thread stops in the destructor.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace httplib { class Server; }

namespace llmdesk::test {

class HubStandin {
 public:
  HubStandin();
  ~HubStandin();
  HubStandin(const HubStandin&) = delete;
  HubStandin& operator=(const HubStandin&) = delete;

  std::string url() const;  // http://127.0.0.1:PORT (what HF_ENDPOINT / models.hub_url name)

  // Serves `content` as repo/path. `published_sha256` replaces the real digest in the listing and the
  // headers (a corrupt file on the file host).
  void AddFile(const std::string& repo, const std::string& path, std::string content,
               std::optional<std::string> published_sha256 = std::nullopt);
  void RequireToken(const std::string& repo, const std::string& token);
  // The next `times` downloads of file bytes stop after `after_bytes` body bytes: the connection is closed
  // with the Content-Length promise unkept.
  void DropDownloads(uint64_t after_bytes, int times = 1);
  // The next download of file bytes pauses after `after_bytes` body bytes (the connection stays open)
  // until ReleaseStall() or the stand-in's destruction. WaitForStall: true once a download is paused there.
  void StallDownloads(uint64_t after_bytes);
  bool WaitForStall(std::chrono::milliseconds timeout);
  void ReleaseStall();

  uint64_t body_bytes_served() const;            // file bytes sent by /cdn, all requests
  std::vector<std::string> range_headers() const;  // the Range header of each /cdn GET ("" when none)
  std::vector<std::string> listing_auth() const;   // the Authorization header of each listing request

  static std::string Sha256Hex(const std::string& bytes);

 private:
  struct FileEntry {
    std::string content;
    std::string sha256;  // published
  };
  bool Authorized(const std::string& repo, const std::string& auth) const;
  const FileEntry* Find(const std::string& repo, const std::string& path) const;

  mutable std::mutex mu_;
  std::map<std::string, std::map<std::string, FileEntry>> repos_;  // repo -> path -> file
  std::map<std::string, std::string> tokens_;
  uint64_t drop_after_ = 0;
  uint64_t stall_after_ = UINT64_MAX;
  bool stall_armed_ = false, stalled_ = false, stall_released_ = false;
  std::condition_variable stall_cv_;
  int drops_left_ = 0;
  uint64_t served_ = 0;
  std::vector<std::string> ranges_, listing_auth_;
  std::unique_ptr<httplib::Server> server_;
  int port_ = 0;
  std::thread thread_;
};

}  // namespace llmdesk::test
