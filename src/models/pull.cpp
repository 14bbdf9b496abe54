// Pull: resolve a reference, then download through a part file with resume, verify and rename (pull.h).
#include "models/pull.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>

#include <nlohmann/json.hpp>

#include "common/text.h"
#include "models/hub_files.h"
#include "models/library.h"
#include "models/model_file.h"
#include "platform/sha256.h"
#include "net/http_client.h"
#include "platform/files.h"
#include "platform/user_dirs.h"

namespace llmdesk::models {
namespace {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;
namespace fs = std::filesystem;

std::string Bytes(uint64_t n) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1000 && u < 4) v /= 1000, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

bool IsSha256(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

// `"abc"`, `W/"abc"` -> abc
std::string Unquote(std::string v) {
  if (v.rfind("W/", 0) == 0) v.erase(0, 2);
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  return v;
}

// What the user should hear about an HTTP error status from the hub.
Status HttpStatusError(int status, const std::string& url, const std::string& what, bool have_token) {
  const std::string code = " (HTTP " + std::to_string(status) + " from " + url + ")";
  if (status == 401 || status == 403) {
    if (have_token)
      return Status::PermissionDenied("the hub refused the token for " + what + code +
                                      ": HF_TOKEN is invalid or expired, or its account has no access (for a "
                                      "gated model, accept its terms on the model page first)");
    return Status::PermissionDenied(what + " needs authorisation" + code +
                                    ": it is gated or private (or does not exist); set HF_TOKEN to a token "
                                    "from https://huggingface.co/settings/tokens and run the pull again");
  }
  if (status == 404) return Status::NotFound(what + " was not found" + code + "; check the name");
  if (status == 429) return Status::Unavailable("the hub is rate-limiting requests" + code + "; try again later");
  return Status::Unavailable("the hub answered an error for " + what + code);
}

Status NetworkError(const Status& s, const std::string& what) {
  if (s.code() == Status::Code::kCancelled || s.code() == Status::Code::kFailedPrecondition) return s;
  return Status::Unavailable("network failure while " + what + ": " + s.message() +
                             "; check the connection (or HF_ENDPOINT / models.hub_url) and run the pull again");
}

net::HeaderList AuthHeaders(const PullOptions& o, const std::string& url) {
  net::HeaderList h;
  // The token goes to the hub only (curl drops it on redirects to other hosts too).
  if (o.token && url.rfind(o.endpoint + "/", 0) == 0) h.emplace_back("Authorization", "Bearer " + *o.token);
  return h;
}

// What to download, where to, and what it must hash to.
struct Target {
  std::string url;
  std::string what;        // for messages: "owner/repo:Q4_K_M" or the URL
  fs::path final_path;
  std::string name;        // relative to the library
  uint64_t size = 0;       // 0 = unknown
  std::string sha256;      // "" = none published
};

Result<Target> ResolveRepo(net::HttpClient& http, const ModelRef& ref, const PullOptions& o) {
  const std::string list_url = o.endpoint + "/api/models/" + ref.repo + "/tree/" + PercentEncode(ref.revision) +
                               "?recursive=true";
  net::HttpRequest req{.url = list_url, .headers = AuthHeaders(o, list_url), .connect_timeout = o.connect_timeout,
                       .timeout = std::chrono::seconds(60), .follow_redirects = true, .cancel = o.cancel};
  auto res = http.Send(req);
  if (!res.ok()) return NetworkError(res.status(), "listing the files of " + ref.repo);
  if (res->status != 200) return HttpStatusError(res->status, list_url, "repository " + ref.repo, o.token.has_value());
  auto files = ParseRepoListing(res->body);
  if (!files.ok()) return Status::Unavailable("the hub's file list for " + ref.repo + " is unreadable: " + files.status().message());
  auto chosen = ChooseGguf(*files, ref.repo, ref.quant);
  if (!chosen.ok()) return chosen.status();
  Target t;
  t.what = ref.ToString();
  t.url = o.endpoint + "/" + ref.repo + "/resolve/" + PercentEncode(ref.revision) + "/" + EncodePath(chosen->path);
  t.name = ref.repo + "/" + BaseName(chosen->path);
  t.final_path = o.library / ref.repo / BaseName(chosen->path);
  t.size = chosen->size;
  t.sha256 = chosen->sha256;
  return t;
}

Result<Target> ResolveUrl(net::HttpClient& http, const ModelRef& ref, const PullOptions& o) {
  Target t;
  t.url = t.what = ref.url;
  auto place = LibraryPlaceForUrl(ref.url);
  if (!place.ok()) return place.status();
  t.name = *place;
  t.final_path = o.library / *place;
  // HEAD without following: the hub's redirect carries X-Linked-Etag (the SHA-256) and X-Linked-Size.
  net::HttpRequest head{.method = "HEAD", .url = ref.url, .headers = AuthHeaders(o, ref.url),
                        .connect_timeout = o.connect_timeout, .timeout = std::chrono::seconds(60), .cancel = o.cancel};
  auto res = http.Send(head);
  if (!res.ok()) return NetworkError(res.status(), "asking " + ref.url + " for the file");
  if (res->status >= 400) return HttpStatusError(res->status, ref.url, ref.url, o.token.has_value());
  bool redirect = res->status >= 300 && res->status < 400;
  std::string etag = Unquote(redirect ? res->Header("X-Linked-Etag") : "");
  if (etag.empty()) etag = Unquote(res->Header("ETag"));
  if (IsSha256(etag)) {
    t.sha256 = etag;
    for (char& c : t.sha256) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  const std::string& size = redirect ? res->Header("X-Linked-Size") : res->Header("Content-Length");
  if (!size.empty() && size.size() < 20 && size.find_first_not_of("0123456789") == std::string::npos)
    t.size = std::stoull(size);
  return t;
}

// Paths in messages: UTF-8 on every platform (path::string() is the ANSI code page on Windows).

// The part file: the open file, its length so far and the hash of those bytes.
struct Part {
  fs::path path;
  ModelFile file;
  uint64_t length = 0;
  platform::Sha256 hash;

  Status Open() {
    auto opened = ModelFile::OpenForWriting(path);
    if (!opened.ok()) return opened.status();
    file = std::move(*opened);
    auto size = file.Size();
    if (!size) return Status::IoError(platform::PathToUtf8(path) + " is not a regular file");
    length = *size;
    std::string buffer(1 << 20, '\0');  // hash what an earlier pull left, so the digest covers the whole file
    for (uint64_t at = 0; at < length;) {
      long long n = file.Read(buffer.data(), static_cast<size_t>(std::min<uint64_t>(buffer.size(), length - at)));
      if (n <= 0) return Status::IoError("cannot read " + platform::PathToUtf8(path) + ": " + (n == 0 ? "it got shorter" : "read failed"));
      hash.Update(std::string_view(buffer.data(), static_cast<size_t>(n)));
      at += static_cast<uint64_t>(n);
    }
    file.SeekTo(length);
    return Status::Ok();
  }
  Status Truncate() {
    if (!file.Truncate()) return Status::IoError("cannot truncate " + platform::PathToUtf8(path));
    length = 0;
    hash.Reset();
    return Status::Ok();
  }
  Status Append(std::string_view data) {
    auto wrote = file.Write(data);
    hash.Update(data.substr(0, wrote.written));
    length += wrote.written;
    if (wrote.problem == ModelFile::WriteResult::Problem::kNone) return Status::Ok();
    std::string kept = "; the " + Bytes(length) + " already fetched stay in " + platform::PathToUtf8(path) +
                       " and the next pull resumes from there";
    if (wrote.problem == ModelFile::WriteResult::Problem::kDiskFull)
      return Status::IoError("disk full: no space left in " + platform::PathToUtf8(path.parent_path()) + kept);
    if (wrote.problem == ModelFile::WriteResult::Problem::kFileSizeLimit)
      return Status::IoError("disk full: the file size limit (ulimit -f) stops " + platform::PathToUtf8(path.filename()) + kept);
    return Status::IoError("cannot write " + platform::PathToUtf8(path) + ": " + wrote.why + kept);
  }
};

// "bytes START-END/TOTAL" -> START
std::optional<uint64_t> RangeStart(const std::string& content_range) {
  const std::string prefix = "bytes ";
  if (content_range.rfind(prefix, 0) != 0) return std::nullopt;
  size_t dash = content_range.find('-', prefix.size());
  std::string start = content_range.substr(prefix.size(), dash == std::string::npos ? 0 : dash - prefix.size());
  if (start.empty() || start.size() > 19 || start.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  return std::stoull(start);
}

Status CheckFreeSpace(const fs::path& dir, uint64_t needed) {
  if (needed == 0) return Status::Ok();
  auto free_bytes = platform::FreeDiskBytes(dir);  // statvfs; GetDiskFreeSpaceExW on Windows
  if (!free_bytes || *free_bytes >= needed) return Status::Ok();
  return Status::IoError("disk full: " + Bytes(needed) + " are needed in " + platform::PathToUtf8(dir) + " but only " +
                         Bytes(*free_bytes) + " are free; free some space and run the pull again");
}

// One GET of the rest of the file into `part`. Sets `complete` when the file is whole.
struct DownloadState {
  PullResult& result;
  Part& part;
  const Target& target;
  const PullOptions& o;
  uint64_t total = 0;
  uint64_t resumed_from = 0;
  Clock::time_point started = Clock::now();
  uint64_t transferred_here = 0;  // bytes of this download (all attempts)
  Clock::time_point last_report{};

  void Report(PullProgress::Stage stage, bool force) {
    if (!o.on_progress) return;
    auto now = Clock::now();
    if (!force && now - last_report < o.progress_interval) return;
    last_report = now;
    PullProgress p{.stage = stage, .file = platform::PathToUtf8(target.final_path.filename()), .done = part.length,
                   .total = total, .resumed_from = resumed_from};
    double seconds = std::chrono::duration<double>(now - started).count();
    if (seconds > 0) p.bytes_per_second = static_cast<double>(transferred_here) / seconds;
    if (p.bytes_per_second > 0 && total >= part.length)
      p.eta_seconds = static_cast<double>(total - part.length) / p.bytes_per_second;
    o.on_progress(p);
  }
};

enum class AttemptEnd { kComplete, kRetry, kFailed };

AttemptEnd Attempt(net::HttpClient& http, DownloadState& st, Status& error) {
  Part& part = st.part;
  const uint64_t offset = part.length;
  net::HttpRequest req{.url = st.target.url, .headers = AuthHeaders(st.o, st.target.url),
                       .connect_timeout = st.o.connect_timeout, .idle_timeout = st.o.idle_timeout,
                       .follow_redirects = true, .cancel = st.o.cancel};
  if (offset > 0) req.headers.emplace_back("Range", "bytes=" + std::to_string(offset) + "-");
  int http_status = 0;
  bool restart = false, complete = false;
  Status write_error;
  uint64_t received = 0;
  Status s = http.Stream(
      req,
      [&](int status, const net::HeaderList& headers) {
        net::HttpResponse h{.status = status, .headers = headers};
        if (status == 416 && offset > 0) {  // nothing after offset: whole already, or a part too long
          if (st.total != 0 && offset == st.total) complete = true;
          else restart = true;
          return false;
        }
        if (status >= 400 || (status != 200 && status != 206)) return http_status = status, false;
        if (status == 200 && offset > 0) {  // the server ignored Range: start over
          if (Status t = part.Truncate(); !t.ok()) return write_error = t, false;
          st.resumed_from = 0;
        }
        if (status == 206 && RangeStart(h.Header("Content-Range")) != offset) return restart = true, false;
        const std::string& length = h.Header("Content-Length");
        if (st.total == 0 && status == 200 && !length.empty() && length.size() < 20 &&
            length.find_first_not_of("0123456789") == std::string::npos)
          st.total = std::stoull(length);
        st.Report(PullProgress::Stage::kDownloading, true);
        return true;
      },
      [&](std::string_view chunk) {
        if (Status t = part.Append(chunk); !t.ok()) return write_error = t, false;
        received += chunk.size();
        st.transferred_here += chunk.size();
        st.result.bytes_transferred += chunk.size();
        if (st.total != 0 && part.length > st.total) return restart = true, false;
        st.Report(PullProgress::Stage::kDownloading, false);
        return true;
      });
  if (!write_error.ok()) return error = write_error, AttemptEnd::kFailed;
  if (http_status != 0)
    return error = HttpStatusError(http_status, st.target.url, st.target.what, st.o.token.has_value()), AttemptEnd::kFailed;
  if (s.code() == Status::Code::kCancelled)
    return error = Status::Cancelled("stopped downloading " + st.target.what + " after " +
                                     std::to_string(part.length) + " bytes; they are kept, and the next pull resumes " +
                                     "from there"),
           AttemptEnd::kFailed;
  if (complete) return AttemptEnd::kComplete;
  if (restart) {
    if (Status t = part.Truncate(); !t.ok()) return error = t, AttemptEnd::kFailed;
    st.resumed_from = 0;
    return error = Status::Unavailable("the server sent a different byte range than asked for " + st.target.what),
           AttemptEnd::kRetry;
  }
  if (s.ok() && (st.total == 0 || part.length == st.total)) return AttemptEnd::kComplete;
  std::string why = s.ok() ? "the connection closed after " + Bytes(part.length) + " of " + Bytes(st.total)
                           : s.message();
  error = Status::Unavailable("network failure while downloading " + st.target.what + ": " + why + "; " +
                              Bytes(part.length) + " are kept in " + platform::PathToUtf8(part.path) +
                              " and the next pull resumes from there");
  return received > 0 ? AttemptEnd::kRetry : AttemptEnd::kFailed;
}

}  // namespace

const char* ToString(PullProgress::Stage s) {
  switch (s) {
    case PullProgress::Stage::kResolving: return "resolving";
    case PullProgress::Stage::kDownloading: return "downloading";
    case PullProgress::Stage::kVerifying: return "verifying";
    case PullProgress::Stage::kDone: return "done";
  }
  return "?";
}

Result<PullResult> Pull(const ModelRef& ref, const PullOptions& o) {
  net::HttpClient http;
  if (o.on_progress) o.on_progress(PullProgress{.stage = PullProgress::Stage::kResolving, .file = ref.ToString()});
  auto target = ref.url.empty() ? ResolveRepo(http, ref, o) : ResolveUrl(http, ref, o);
  if (!target.ok()) return target.status();
  const Target& t = *target;

  PullResult result;
  result.path = t.final_path;
  result.name = t.name;
  result.sha256 = t.sha256;
  std::error_code ec;
  fs::create_directories(t.final_path.parent_path(), ec);
  if (ec) return Status::IoError("cannot create " + platform::PathToUtf8(t.final_path.parent_path()) + ": " + ec.message());
  if (auto size = fs::file_size(t.final_path, ec); !ec && (t.size == 0 || size == t.size)) {
    result.already_present = true;
    result.size = size;
    return result;
  }

  Part part;
  part.path = t.final_path;
  part.path += (t.sha256.empty() ? std::string() : "." + t.sha256.substr(0, 12)) + ".part";
  if (Status s = part.Open(); !s.ok()) return s;
  if (t.size != 0 && part.length > t.size)
    if (Status s = part.Truncate(); !s.ok()) return s;
  result.resumed_from = part.length;
  if (Status s = CheckFreeSpace(t.final_path.parent_path(), t.size > part.length ? t.size - part.length : 0); !s.ok())
    return s;

  DownloadState st{.result = result, .part = part, .target = t, .o = o, .total = t.size, .resumed_from = part.length};
  Status error;
  bool complete = false;
  for (int attempt = 0; attempt < std::max(1, o.attempts) && !complete; ++attempt) {
    AttemptEnd end = Attempt(http, st, error);
    if (end == AttemptEnd::kFailed) return error;
    complete = end == AttemptEnd::kComplete;
  }
  if (!complete) return error;

  st.Report(PullProgress::Stage::kVerifying, true);
  if (st.total != 0 && part.length != st.total)
    return Status::IoError(t.what + ": got " + std::to_string(part.length) + " bytes, expected " + std::to_string(st.total));
  const std::string digest = part.hash.HexDigest();
  if (!t.sha256.empty() && digest != t.sha256) {
    part.file.Close();
    fs::remove(part.path, ec);
    return Status::IoError("checksum mismatch for " + t.what + ": the hub publishes SHA-256 " + t.sha256 +
                           ", the download has " + digest + "; the file was removed — run the pull again (if it "
                           "repeats, the file host or a proxy is serving a damaged file)");
  }
  if (Status s = part.file.Sync(); !s.ok()) return s;
  part.file.Close();
  if (Status s = MoveIntoPlace(part.path, t.final_path); !s.ok()) return s;
  result.sha256 = digest;
  result.verified = !t.sha256.empty();
  result.size = part.length;
  st.Report(PullProgress::Stage::kDone, true);
  return result;
}

}  // namespace llmdesk::models
