// The local model list (library.h): walks the library and other tools' folders, reads each GGUF header.
#include "models/library.h"

#include <algorithm>
#include <cctype>
#include <set>

#include <nlohmann/json.hpp>

#include "common/text.h"
#include "models/hub_files.h"
#include "models/pull.h"
#include "platform/user_dirs.h"

namespace llmdesk::models {
namespace {

namespace fs = std::filesystem;
constexpr int kMaxDepth = 8;
constexpr size_t kMaxEntries = 10000;
constexpr const char* kDemoFolder = "llmdesk-demo";

// Paths from and to UTF-8 text (platform/user_dirs.h): on Windows never through the ANSI code page.

fs::path EnvPath(const config::GetEnv& env, const char* name) {
  auto v = env(name);
  return v && !v->empty() ? platform::PathFromUtf8(*v) : fs::path();
}

// $HOME on POSIX, %USERPROFILE% on Windows (where huggingface_hub keeps its ~/.cache too).
fs::path Home(const config::GetEnv& env) { return platform::HomeDir(env); }

fs::path CacheHome(const config::GetEnv& env) {
  if (auto p = EnvPath(env, "XDG_CACHE_HOME"); !p.empty()) return p;
  if (auto h = Home(env); !h.empty()) return h / ".cache";
  return {};
}

fs::path HfHubCache(const config::GetEnv& env) {
  if (auto p = EnvPath(env, "HF_HUB_CACHE"); !p.empty()) return p;
  if (auto p = EnvPath(env, "HF_HOME"); !p.empty()) return p / "hub";
  if (auto c = CacheHome(env); !c.empty()) return c / "huggingface" / "hub";
  return {};
}

bool IsGgufName(const fs::path& p) {
  std::string ext = platform::PathToUtf8(p.extension());
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".gguf" && platform::PathToUtf8(p.filename()).find("mmproj") == std::string::npos;
}

// Every GGUF under `root` (bounded walk); symlinked files are followed only when they stay inside root.
std::vector<fs::path> FindGgufs(const fs::path& root) {
  std::vector<fs::path> out;
  std::error_code ec;
  fs::path canonical_root = fs::canonical(root, ec);
  if (ec) return out;
  fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec), end;
  size_t seen = 0;
  for (; !ec && it != end && seen < kMaxEntries; it.increment(ec), ++seen) {
    if (it.depth() >= kMaxDepth) it.disable_recursion_pending();
    const fs::path& p = it->path();
    if (!IsGgufName(p)) continue;
    std::error_code e2;
    if (!fs::is_regular_file(p, e2)) continue;
    if (fs::is_symlink(p, e2)) {
      fs::path target = fs::canonical(p, e2);
      auto rel = target.lexically_relative(canonical_root);
      if (e2 || rel.empty() || *rel.begin() == "..") continue;
    }
    out.push_back(p);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// models--owner--repo/snapshots/REV/FILE -> owner/repo/FILE
std::string HfCacheName(const fs::path& root, const fs::path& file) {
  auto rel = file.lexically_relative(root);
  auto first = rel.begin();
  if (first == rel.end()) return platform::PathToUtf8(rel);
  std::string top = platform::PathToUtf8(*first);
  if (top.rfind("models--", 0) != 0) return platform::PathToUtf8(rel);
  std::string repo = top.substr(8);
  if (size_t sep = repo.find("--"); sep != std::string::npos) repo.replace(sep, 2, "/");
  return repo + "/" + platform::PathToUtf8(file.filename());
}

LocalModel Describe(const ModelLocation& where, const fs::path& file) {
  LocalModel m;
  m.source = where.source;
  m.path = file;
  m.name = where.source == "huggingface" ? HfCacheName(where.root, file) : platform::PathToUtf8(file.lexically_relative(where.root));
  std::error_code ec;
  m.size = fs::file_size(file, ec);
  m.demo = where.source == "library" && m.name.rfind(std::string(kDemoFolder) + "/", 0) == 0;
  auto info = ReadGgufInfo(file);
  if (info.ok()) m.info = *info;
  else m.error = info.status().message();
  return m;
}

const char* RemoveHint(const std::string& source) {
  if (source == "huggingface") return "it is in the Hugging Face cache: remove it with `huggingface-cli delete-cache`";
  if (source == "lmstudio") return "it belongs to LM Studio: remove it there";
  return "it is in llama.cpp's cache: delete the file yourself";
}

}  // namespace

fs::path LibraryDir(const config::GetEnv& env) {
  fs::path data = platform::UserDataDir(env);  // $XDG_DATA_HOME or ~/.local/share; Windows: %LOCALAPPDATA%
  return data.empty() ? fs::path() : data / "llmdesk" / "models";
}

std::vector<ModelLocation> ModelLocations(const config::GetEnv& env) {
  std::vector<ModelLocation> out;
  auto add = [&](const char* source, const fs::path& root) {
    if (!root.empty()) out.push_back({source, root});
  };
  add("library", LibraryDir(env));
  add("huggingface", HfHubCache(env));
  fs::path llama = EnvPath(env, "LLAMA_CACHE");
  if (llama.empty())
    if (auto c = CacheHome(env); !c.empty()) llama = c / "llama.cpp";
  add("llama.cpp", llama);
  if (auto h = Home(env); !h.empty()) add("lmstudio", h / ".lmstudio" / "models");
  return out;
}

std::vector<LocalModel> ListLocalModels(const config::GetEnv& env) {
  std::vector<LocalModel> out;
  std::set<fs::path> seen;  // one file reached twice (a cache inside another, snapshot symlinks)
  for (const auto& where : ModelLocations(env)) {
    for (const auto& file : FindGgufs(where.root)) {
      std::error_code ec;
      fs::path real = fs::canonical(file, ec);
      if (!seen.insert(ec ? file : real).second) continue;
      out.push_back(Describe(where, file));
    }
  }
  return out;
}

nlohmann::json ToJson(const LocalModel& m) {
  using nlohmann::json;
  json j = {{"name", ValidUtf8(m.name)}, {"source", m.source}, {"path", ValidUtf8(platform::PathToUtf8(m.path))}, {"size", m.size}};
  if (m.demo) j["label"] = kDemoLabel;
  j["demo"] = m.demo;
  if (m.info) {
    j["architecture"] = ValidUtf8(m.info->architecture);
    j["parameters"] = m.info->parameter_count;
    j["quantization"] = m.info->quantization;
    j["context_length"] = m.info->context_length ? json(*m.info->context_length) : json(nullptr);
    j["chat_template"] = m.info->has_chat_template;
    j["tools"] = m.info->template_supports_tools;
  } else {
    j["error"] = ValidUtf8(m.error);
  }
  return j;
}

bool FileMatchesQuant(const std::string& file_name, const std::string& quant) {
  if (quant.empty()) return true;
  auto lower = [](std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
  };
  const std::string name = lower(file_name), q = lower(quant);
  auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  for (size_t at = name.find(q); at != std::string::npos; at = name.find(q, at + 1)) {
    bool starts = at == 0 || !std::isalnum(static_cast<unsigned char>(name[at - 1]));
    bool ends = at + q.size() == name.size() || !word(name[at + q.size()]);
    if (starts && ends) return true;
  }
  return false;
}

std::optional<fs::path> FindLocalHfModel(const std::string& repo, const std::string& quant, const config::GetEnv& env) {
  auto pick = [&](const std::vector<fs::path>& files) -> std::optional<fs::path> {
    const std::string wanted = quant.empty() ? "Q4_K_M" : quant;
    for (const auto& f : files)
      if (FileMatchesQuant(platform::PathToUtf8(f.filename()), wanted)) return f;
    if (quant.empty() && files.size() == 1) return files.front();
    return std::nullopt;
  };
  if (fs::path lib = LibraryDir(env); !lib.empty())
    if (auto f = pick(FindGgufs(lib / repo))) return f;
  if (fs::path hub = HfHubCache(env); !hub.empty()) {
    std::string folder = "models--" + repo;
    if (size_t slash = folder.find('/'); slash != std::string::npos) folder.replace(slash, 1, "--");
    if (auto f = pick(FindGgufs(hub / folder / "snapshots"))) return f;
  }
  return std::nullopt;
}

Result<fs::path> RemoveModel(const std::string& name, const config::GetEnv& env) {
  auto all = ListLocalModels(env);
  std::vector<const LocalModel*> hits;
  for (const auto& m : all)
    if (m.name == name) hits.push_back(&m);
  if (hits.empty())
    for (const auto& m : all)
      if (m.path.filename() == name) hits.push_back(&m);
  if (hits.empty()) {
    if (auto ref = ParseModelRef(name); ref.ok() && ref->url.empty()) {
      if (auto f = FindLocalHfModel(ref->repo, ref->quant, env))
        for (const auto& m : all)
          if (m.path == *f) hits.push_back(&m);
    }
  }
  if (hits.empty()) {
    std::string names;
    for (const auto& m : all)
      if (m.source == "library") names += "\n  " + m.name;
    return Status::NotFound("no model named '" + ValidUtf8(name) + "'" +
                            (names.empty() ? std::string("; the library is empty") : "; the library has:" + names));
  }
  if (hits.size() > 1) {
    std::string names;
    for (const auto* m : hits) names += "\n  " + m->name + " (" + m->source + ")";
    return Status::InvalidArgument("'" + ValidUtf8(name) + "' names several models; give the full name:" + names);
  }
  const LocalModel& m = *hits.front();
  if (m.source != "library")
    return Status::FailedPrecondition(platform::PathToUtf8(m.path) + " is not in llmdesk's library; " + RemoveHint(m.source));
  std::error_code ec;
  if (!fs::remove(m.path, ec) || ec)
    return Status::IoError("cannot remove " + platform::PathToUtf8(m.path) + ": " + (ec ? ec.message() : "it vanished"));
  // Leave no empty owner/repo folders behind (never above the library).
  fs::path lib = LibraryDir(env);
  for (fs::path dir = m.path.parent_path(); dir != lib && dir.native().size() > lib.native().size();
       dir = dir.parent_path())
    if (!fs::remove(dir, ec)) break;  // not empty (or an error): stop
  return m.path;
}

}  // namespace llmdesk::models
