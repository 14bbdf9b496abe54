#include "models/hub_files.h"

#include <algorithm>
#include <cctype>
#include <fstream>

#include <nlohmann/json.hpp>

#include "common/json_read.h"
#include "common/text.h"
#include "models/library.h"
#include "models/pull.h"
#include "platform/user_dirs.h"

namespace llmdesk::models {
namespace {

constexpr size_t kMaxNameBytes = 96;  // the hub's limit for owner and repo names

bool IsHubWord(std::string_view w) {
  return !w.empty() && w.size() <= kMaxNameBytes && w != "." && w != ".." &&
         std::all_of(w.begin(), w.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
         });
}

bool IsSafePath(std::string_view p) {
  if (p.empty() || p.size() > 1024 || p.front() == '/') return false;
  size_t start = 0;
  for (;;) {
    size_t slash = p.find('/', start);
    std::string_view seg = p.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (seg.empty() || seg == "." || seg == ".." || seg.find('\0') != std::string_view::npos) return false;
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

bool EndsWithGguf(std::string_view name) {
  if (name.size() < 5) return false;
  std::string tail(name.substr(name.size() - 5));
  for (char& c : tail) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return tail == ".gguf";
}

bool IsSplitPart(std::string_view name) {  // "-00001-of-00003.gguf"
  return name.find("-of-") != std::string_view::npos && name.size() > 20 &&
         std::isdigit(static_cast<unsigned char>(name[name.size() - 6]));
}

}  // namespace

std::string ModelRef::ToString() const {
  if (!url.empty()) return url;
  return repo + (quant.empty() ? "" : ":" + quant);
}

Result<ModelRef> ParseModelRef(std::string_view text) {
  ModelRef ref;
  if (text.rfind("http://", 0) == 0 || text.rfind("https://", 0) == 0) {
    if (text.size() > 8192) return Status::InvalidArgument("the URL is longer than 8192 bytes");
    ref.url = std::string(text);
    return ref;
  }
  const std::string hint = "; expected owner/repo[:QUANT] (e.g. Qwen/Qwen2.5-1.5B-Instruct-GGUF:Q4_K_M) or an "
                           "http(s) URL of a .gguf file";
  std::string_view rest = text;
  if (size_t colon = rest.find(':'); colon != std::string_view::npos) {
    ref.quant = std::string(rest.substr(colon + 1));
    rest = rest.substr(0, colon);
    if (!IsHubWord(ref.quant)) return Status::InvalidArgument("'" + ValidUtf8(text.substr(0, 200)) + "' has a bad quant" + hint);
  }
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos || !IsHubWord(rest.substr(0, slash)) || !IsHubWord(rest.substr(slash + 1)))
    return Status::InvalidArgument("'" + ValidUtf8(text.substr(0, 200)) + "' is not a model reference" + hint);
  ref.repo = std::string(rest);
  return ref;
}

std::string HubEndpoint(const config::Config& config, const config::GetEnv& env) {
  std::string url = config.hub.url;
  if (url.empty())
    if (auto v = env("HF_ENDPOINT"); v && !v->empty()) url = *v;
  if (url.empty()) url = kDefaultHubEndpoint;
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

Result<std::vector<HubFile>> ParseRepoListing(const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_array()) return Status::InvalidArgument("expected a JSON array of files");
  std::vector<HubFile> out;
  for (const auto& e : j) {
    if (!e.is_object() || JsonString(e, "type") != "file" || !e.contains("path") || !e["path"].is_string()) continue;
    HubFile f;
    f.path = e["path"].get<std::string>();
    if (!IsSafePath(f.path)) continue;
    if (e.contains("size") && e["size"].is_number_unsigned()) f.size = e["size"].get<uint64_t>();
    if (e.contains("lfs") && e["lfs"].is_object()) {
      const auto& lfs = e["lfs"];
      if (lfs.contains("oid") && lfs["oid"].is_string()) f.sha256 = lfs["oid"].get<std::string>();
      if (lfs.contains("size") && lfs["size"].is_number_unsigned()) f.size = lfs["size"].get<uint64_t>();
      bool hex = f.sha256.size() == 64 && std::all_of(f.sha256.begin(), f.sha256.end(), [](char c) {
                   return std::isxdigit(static_cast<unsigned char>(c));
                 });
      if (!hex) f.sha256.clear();
      for (char& c : f.sha256) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    out.push_back(std::move(f));
  }
  return out;
}

std::string QuantOfFileName(std::string_view name) {
  name = BaseName(name).size() == name.size() ? name : name.substr(name.rfind('/') + 1);
  if (!EndsWithGguf(name)) return "";
  name.remove_suffix(5);
  size_t cut = name.find_last_of("-.");
  if (cut == std::string_view::npos) return "";
  std::string q(name.substr(cut + 1));
  for (char& c : q) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return q;
}

Result<HubFile> ChooseGguf(const std::vector<HubFile>& files, const std::string& repo, const std::string& quant) {
  std::vector<const HubFile*> ggufs;
  for (const auto& f : files) {
    std::string base = BaseName(f.path);
    if (EndsWithGguf(base) && base.find("mmproj") == std::string::npos) ggufs.push_back(&f);
  }
  if (ggufs.empty()) return Status::NotFound(repo + " has no .gguf files; llmdesk runs GGUF models (look for a "
                                                    "repository whose name ends in -GGUF)");
  std::vector<const HubFile*> matches;
  const std::string wanted = quant.empty() ? "Q4_K_M" : quant;
  for (const auto* f : ggufs)
    if (FileMatchesQuant(BaseName(f->path), wanted)) matches.push_back(f);
  if (matches.empty() && quant.empty() && ggufs.size() == 1) matches = ggufs;
  if (matches.empty()) {
    std::vector<std::string> quants;
    for (const auto* f : ggufs)
      if (auto q = QuantOfFileName(f->path); !q.empty() && std::find(quants.begin(), quants.end(), q) == quants.end())
        quants.push_back(q);
    std::string list;
    for (const auto& q : quants) list += (list.empty() ? "" : ", ") + q;
    return Status::NotFound(repo + " has no GGUF for " + (quant.empty() ? "the default quant Q4_K_M" : quant) +
                            "; it has: " + (list.empty() ? std::to_string(ggufs.size()) + " other GGUF files" : list) +
                            " — pull " + repo + ":QUANT with one of them");
  }
  if (std::any_of(matches.begin(), matches.end(), [](const HubFile* f) { return IsSplitPart(BaseName(f->path)); }))
    return Status::InvalidArgument(repo + ":" + wanted + " is split into several files; llmdesk cannot pull split "
                                   "GGUF models yet (pick a smaller quant, or download the parts yourself)");
  if (matches.size() > 1) {
    std::string list;
    for (const auto* f : matches) list += (list.empty() ? "" : ", ") + f->path;
    return Status::InvalidArgument(repo + " has several GGUFs for " + wanted + ": " + list + "; pull one by URL");
  }
  return *matches.front();
}

std::string BaseName(std::string_view path) {
  size_t slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

std::string EncodePath(std::string_view path) {
  std::string out;
  size_t start = 0;
  for (;;) {
    size_t slash = path.find('/', start);
    out += PercentEncode(path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) return out;
    out += '/';
    start = slash + 1;
  }
}

Result<std::string> LibraryPlaceForUrl(const std::string& url) {
  size_t scheme = url.find("://");
  size_t path_start = url.find('/', scheme + 3);
  std::string path = path_start == std::string::npos ? "" : url.substr(path_start + 1);
  path = path.substr(0, path.find_first_of("?#"));
  std::vector<std::string> segs;
  for (size_t start = 0; start <= path.size();) {
    size_t slash = path.find('/', start);
    segs.push_back(PercentDecode(path.substr(start, slash == std::string::npos ? std::string::npos : slash - start)));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  const std::string file = segs.empty() ? "" : segs.back();
  if (file.empty() || file == "." || file == ".." || file.find('/') != std::string::npos || file.find('\0') != std::string::npos ||
      file.size() > 255)
    return Status::InvalidArgument("'" + ValidUtf8(url.substr(0, 200)) + "' does not end in a file name; give the "
                                   "URL of a .gguf file");
  // https://HUB/owner/repo/resolve/REV/.../FILE: keep it next to what `pull owner/repo` would make.
  if (segs.size() >= 5 && segs[2] == "resolve" && IsHubWord(segs[0]) && IsHubWord(segs[1]))
    return segs[0] + "/" + segs[1] + "/" + file;
  return file;
}

}  // namespace llmdesk::models

namespace llmdesk::models {

std::optional<std::string> HubToken(const config::GetEnv& env) {
  for (const char* name : {"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"})
    if (auto v = env(name); v && !v->empty()) return *v;
  std::filesystem::path file;
  if (auto v = env("HF_TOKEN_PATH"); v && !v->empty()) file = platform::PathFromUtf8(*v);
  else if (auto h = env("HF_HOME"); h && !h->empty()) file = platform::PathFromUtf8(*h) / "token";
  else if (auto home = platform::HomeDir(env); !home.empty()) file = home / ".cache" / "huggingface" / "token";
  if (file.empty()) return std::nullopt;
  std::ifstream in(file, std::ios::binary);
  std::string token(4096, '\0');  // a token is ~40 bytes; read a bounded prefix
  in.read(token.data(), static_cast<std::streamsize>(token.size()));
  token.resize(static_cast<size_t>(in.gcount()));
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.front()))) token.erase(0, 1);
  if (token.empty() || token.find_first_of("\r\n") != std::string::npos) return std::nullopt;
  return token;
}

}  // namespace llmdesk::models
