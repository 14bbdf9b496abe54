// models/hub_files.h — the hub's file list and names (private to models/): parse the tree listing, pick the
// GGUF for a quant, and make names safe to use as local paths.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace llmdesk::models {

struct HubFile {
  std::string path;    // in the repo, e.g. "qwen2.5-1.5b-instruct-q4_k_m.gguf" (checked: no "..", no empty segment)
  uint64_t size = 0;
  std::string sha256;  // the LFS oid; "" for a file not in LFS
};

// GET /api/models/{repo}/tree/{rev}: a JSON array of {"type","path","size","lfs":{"oid","size"}}.
// Entries with unsafe paths are dropped; bad JSON is InvalidArgument.
Result<std::vector<HubFile>> ParseRepoListing(const std::string& body);

// The GGUF for `quant` (see FileMatchesQuant); without quant Q4_K_M, else the only one. NotFound lists the
// quants the repo has; a model split into parts is InvalidArgument (not supported yet).
Result<HubFile> ChooseGguf(const std::vector<HubFile>& files, const std::string& repo, const std::string& quant);

// "Q4_K_M" from "x-q4_k_m.gguf" (the last '-' or '.' separated word, upper-cased); "" when there is none.
std::string QuantOfFileName(std::string_view file_name);

std::string BaseName(std::string_view path);
// Each '/'-separated segment percent-encoded.
std::string EncodePath(std::string_view path);
// Where a URL's file goes in the library: owner/repo/FILE for a hub resolve URL, else FILE.
Result<std::string> LibraryPlaceForUrl(const std::string& url);

}  // namespace llmdesk::models
