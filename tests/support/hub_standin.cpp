// The hub stand-in (hub_standin.h) on cpp-httplib: its Range handling answers 206 for the file route.
#include "hub_standin.h"

#include <httplib.h>
#include <openssl/evp.h>

#include <nlohmann/json.hpp>

namespace llmdesk::test {

std::string HubStandin::Sha256Hex(const std::string& bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &n, EVP_sha256(), nullptr);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < n; ++i) out += kHex[digest[i] >> 4], out += kHex[digest[i] & 15];
  return out;
}

HubStandin::HubStandin() : server_(std::make_unique<httplib::Server>()) {
  auto& s = *server_;
  s.set_tcp_nodelay(true);
  s.Get(R"(/api/models/([^/]+)/([^/]+)/tree/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
    const std::string repo = req.matches[1].str() + "/" + req.matches[2].str();
    std::lock_guard lock(mu_);
    listing_auth_.push_back(req.get_header_value("Authorization"));
    if (!Authorized(repo, req.get_header_value("Authorization"))) {
      res.status = 401;
      return res.set_content(R"({"error":"Invalid credentials in Authorization header"})", "application/json");
    }
    auto it = repos_.find(repo);
    if (it == repos_.end()) {
      res.status = 404;
      return res.set_content(R"({"error":"Repository not found"})", "application/json");
    }
    nlohmann::json list = nlohmann::json::array();
    list.push_back({{"type", "file"}, {"oid", "0f1e2d"}, {"size", 12}, {"path", "README.md"}});
    for (const auto& [path, f] : it->second)
      list.push_back({{"type", "file"}, {"oid", "9a8b7c"}, {"size", f.content.size()}, {"path", path},
                      {"lfs", {{"oid", f.sha256}, {"size", f.content.size()}, {"pointerSize", 134}}}});
    res.set_content(list.dump(), "application/json");
  });
  s.Get(R"(/([^/]+)/([^/]+)/resolve/([^/]+)/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
    const std::string repo = req.matches[1].str() + "/" + req.matches[2].str(), path = req.matches[4].str();
    std::lock_guard lock(mu_);
    if (!Authorized(repo, req.get_header_value("Authorization"))) return void(res.status = 401);
    const FileEntry* f = Find(repo, path);
    if (!f) {
      res.status = 404;
      res.set_header("X-Error-Code", "EntryNotFound");
      return;
    }
    res.set_header("X-Linked-Etag", "\"" + f->sha256 + "\"");
    res.set_header("X-Linked-Size", std::to_string(f->content.size()));
    res.set_header("X-Repo-Commit", "0123456789abcdef0123456789abcdef01234567");
    res.set_header("ETag", "\"9a8b7c\"");
    res.set_redirect("/cdn/" + repo + "/" + path, 302);
  });
  s.Get(R"(/cdn/([^/]+)/([^/]+)/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
    const std::string repo = req.matches[1].str() + "/" + req.matches[2].str(), path = req.matches[3].str();
    std::lock_guard lock(mu_);
    const FileEntry* f = Find(repo, path);
    if (!f) return void(res.status = 404);
    if (req.method == "GET") ranges_.push_back(req.get_header_value("Range"));
    uint64_t drop_at = UINT64_MAX;
    if (req.method == "GET" && drops_left_ > 0) --drops_left_, drop_at = drop_after_;
    uint64_t stall_at = UINT64_MAX;
    if (req.method == "GET" && stall_armed_) stall_armed_ = false, stall_at = stall_after_;
    res.set_header("ETag", "\"" + f->sha256 + "\"");
    res.set_header("Accept-Ranges", "bytes");
    const std::string* content = &f->content;  // entries are never removed: the pointer stays valid
    auto sent = std::make_shared<uint64_t>(0);
    res.set_content_provider(content->size(), "application/octet-stream",
                             [this, content, drop_at, stall_at, sent](size_t offset, size_t length,
                                                                      httplib::DataSink& sink) {
                               if (*sent == stall_at) {
                                 std::unique_lock lock(mu_);
                                 stalled_ = true;
                                 stall_cv_.notify_all();
                                 stall_cv_.wait(lock, [this] { return stall_released_; });
                               }
                               size_t n = std::min<size_t>(length, 64 * 1024);
                               if (*sent + n > drop_at) n = static_cast<size_t>(drop_at - *sent);
                               if (*sent < stall_at && *sent + n > stall_at) n = static_cast<size_t>(stall_at - *sent);
                               if (n > 0 && !sink.write(content->data() + offset, n)) return false;
                               *sent += n;
                               {
                                 std::lock_guard lock(mu_);
                                 served_ += n;
                               }
                               return *sent < drop_at;  // false: httplib closes the connection mid-body
                             });
  });
  port_ = s.bind_to_any_port("127.0.0.1");
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // Bound and listening already: connections wait in the backlog until the thread accepts them.
}

HubStandin::~HubStandin() {
  ReleaseStall();  // a paused download must finish for the server thread to stop
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

std::string HubStandin::url() const { return "http://127.0.0.1:" + std::to_string(port_); }

void HubStandin::AddFile(const std::string& repo, const std::string& path, std::string content,
                         std::optional<std::string> published_sha256) {
  std::lock_guard lock(mu_);
  FileEntry f;
  f.sha256 = published_sha256 ? *published_sha256 : Sha256Hex(content);
  f.content = std::move(content);
  repos_[repo][path] = std::move(f);
}

void HubStandin::RequireToken(const std::string& repo, const std::string& token) {
  std::lock_guard lock(mu_);
  tokens_[repo] = token;
}

void HubStandin::DropDownloads(uint64_t after_bytes, int times) {
  std::lock_guard lock(mu_);
  drop_after_ = after_bytes, drops_left_ = times;
}

void HubStandin::StallDownloads(uint64_t after_bytes) {
  std::lock_guard lock(mu_);
  stall_after_ = after_bytes, stall_armed_ = true, stalled_ = false, stall_released_ = false;
}

bool HubStandin::WaitForStall(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return stall_cv_.wait_for(lock, timeout, [this] { return stalled_; });
}

void HubStandin::ReleaseStall() {
  std::lock_guard lock(mu_);
  stall_released_ = true;
  stall_cv_.notify_all();
}

uint64_t HubStandin::body_bytes_served() const {
  std::lock_guard lock(mu_);
  return served_;
}

std::vector<std::string> HubStandin::range_headers() const {
  std::lock_guard lock(mu_);
  return ranges_;
}

std::vector<std::string> HubStandin::listing_auth() const {
  std::lock_guard lock(mu_);
  return listing_auth_;
}

bool HubStandin::Authorized(const std::string& repo, const std::string& auth) const {
  auto it = tokens_.find(repo);
  return it == tokens_.end() || auth == "Bearer " + it->second;
}

const HubStandin::FileEntry* HubStandin::Find(const std::string& repo, const std::string& path) const {
  auto r = repos_.find(repo);
  if (r == repos_.end()) return nullptr;
  auto f = r->second.find(path);
  return f == r->second.end() ? nullptr : &f->second;
}

}  // namespace llmdesk::test
