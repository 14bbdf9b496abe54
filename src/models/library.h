// models/library.h — the models on this machine: llmdesk's own library and the folders other tools
// download into, listed with what their GGUF headers say (models/gguf.h).
//
// Where: the library is $XDG_DATA_HOME/llmdesk/models (~/.local/share/llmdesk/models); `llmdesk pull`
// writes owner/repo/FILE there. Also scanned, read-only: the Hugging Face cache ($HF_HUB_CACHE, else
// $HF_HOME/hub, else ~/.cache/huggingface/hub; models--owner--repo/snapshots/REV/FILE), llama.cpp's cache
// ($LLAMA_CACHE, else ~/.cache/llama.cpp) and LM Studio's folder (~/.lmstudio/models). Part files, mmproj
// projectors and symlinks that leave a scanned tree are skipped; a directory tree is walked at most 8
// levels deep and 10,000 entries wide, so a huge or looping folder costs a bounded amount.
//
// Errors: a file whose header cannot be read is still listed, with `error` saying why. Remove refuses
// anything outside the library (other tools own their caches: the message says how to remove it there).
// Pure functions over the file system; thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/status.h"
#include "config/config.h"
#include "models/gguf.h"

namespace llmdesk::models {

// The label of the built-in demo model wherever it is shown (models/demo.h makes it).
inline constexpr const char* kDemoLabel = "demo: scripted, not a language model";

std::filesystem::path LibraryDir(const config::GetEnv& env);

struct ModelLocation {
  std::string source;           // "library", "huggingface", "llama.cpp", "lmstudio"
  std::filesystem::path root;
};
// The library first, then the other tools' folders, as configured by `env`.
std::vector<ModelLocation> ModelLocations(const config::GetEnv& env);

struct LocalModel {
  std::string name;             // library: path relative to it; HF cache: owner/repo/FILE; others: relative path
  std::string source;           // as in ModelLocation
  std::filesystem::path path;
  uint64_t size = 0;
  std::optional<GgufInfo> info; // nullopt when the header could not be read (see error)
  std::string error;
  bool demo = false;            // the built-in demo model (label kDemoLabel)
};

std::vector<LocalModel> ListLocalModels(const config::GetEnv& env);
nlohmann::json ToJson(const LocalModel& model);

// The local file for `hf: owner/repo:QUANT` (the library first, then the Hugging Face cache), if any.
std::optional<std::filesystem::path> FindLocalHfModel(const std::string& repo, const std::string& quant,
                                                      const config::GetEnv& env);
// Whether `file_name` names the GGUF for `quant` ("" = any; see pull.h for the matching rule).
bool FileMatchesQuant(const std::string& file_name, const std::string& quant);

// Removes a library model: its name as listed, its file name when unique, or owner/repo:QUANT. NotFound
// (listing what exists), InvalidArgument when ambiguous, FailedPrecondition for a model of another tool.
Result<std::filesystem::path> RemoveModel(const std::string& name, const config::GetEnv& env);

}  // namespace llmdesk::models
