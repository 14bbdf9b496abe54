// models/pull.h — `llmdesk pull`: fetch a GGUF from the Hugging Face hub (or any http(s) URL) into the model
// library, with progress, resume and SHA-256 verification.
//
// What Pull does
//  - Resolves "owner/repo[:QUANT]" through the hub's API (GET {endpoint}/api/models/{repo}/tree/{rev}): the
//    .gguf whose name carries QUANT as a word ("Q4_K_M" matches "x-q4_k_m.gguf", not "x-iq4_k_m.gguf");
//    without QUANT, Q4_K_M, else the only GGUF. The listing's LFS oid is the SHA-256 to verify against.
//    A URL is fetched as given; its checksum comes from a HEAD without redirects (X-Linked-Etag on the
//    hub's redirect, else a 64-hex ETag); a file without a published SHA-256 is kept unverified (said so).
//  - Downloads {endpoint}/{repo}/resolve/{rev}/{file} (following the redirect to the file host; the token
//    is never sent to another host) into LIBRARY/owner/repo/FILE (URLs: LIBRARY/FILE) through a
//    FILE.<sha12>.part file: an existing part is resumed with a Range request, a file already there with the
//    right size is not downloaded again. After the last byte: size and SHA-256 checked, fsync, rename to
//    the final name — a reader never sees half a model, and a mismatch removes the part, leaving nothing.
//  - A dropped connection is resumed at once within the same call (up to `attempts`, only while bytes
//    arrive); after that the part stays for the next pull to resume.
//
// Errors (messages say what to do): NotFound — repo or quant absent (the quants that exist are listed);
// PermissionDenied — 401/403 (gated/private repo without HF_TOKEN, or a token the hub refused);
// Unavailable — network failure (the part is kept); IoError — disk full / file size limit (the part is
// kept), or checksum mismatch (the part is removed); InvalidArgument — a reference that is neither;
// Cancelled — the token fired.
//
// Threads: Pull blocks its caller (progress callbacks run on that thread); several pulls may run at once
// on different threads (not of the same file).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/cancel.h"
#include "common/status.h"
#include "config/config.h"

namespace llmdesk::models {

inline constexpr const char* kDefaultHubEndpoint = "https://huggingface.co";

// models.hub_url, else $HF_ENDPOINT, else https://huggingface.co; without a trailing '/'.
std::string HubEndpoint(const config::Config& config, const config::GetEnv& env);
// $HF_TOKEN, else $HUGGING_FACE_HUB_TOKEN, else the file `huggingface-cli login` writes ($HF_TOKEN_PATH,
// else $HF_HOME/token, else ~/.cache/huggingface/token). nullopt when none.
std::optional<std::string> HubToken(const config::GetEnv& env);

// What to pull: "owner/repo", "owner/repo:QUANT" or an http(s) URL.
struct ModelRef {
  std::string repo;             // "owner/repo" ("" for a URL)
  std::string quant;            // "Q4_K_M" or ""
  std::string revision = "main";
  std::string url;              // set for a URL reference
  std::string ToString() const;
};
Result<ModelRef> ParseModelRef(std::string_view text);

struct PullProgress {
  enum class Stage { kResolving, kDownloading, kVerifying, kDone };
  Stage stage = Stage::kResolving;
  std::string file;             // the file name being fetched
  uint64_t done = 0;            // bytes in the part file (resumed ones included)
  uint64_t total = 0;           // 0 = unknown
  uint64_t resumed_from = 0;    // bytes that were already there when this download began
  double bytes_per_second = 0;  // over this download's transferred bytes
  std::optional<double> eta_seconds;
};
const char* ToString(PullProgress::Stage stage);

struct PullOptions {
  std::string endpoint = kDefaultHubEndpoint;
  std::optional<std::string> token;
  std::filesystem::path library;                       // LibraryDir(env) for the CLI
  const CancelToken* cancel = nullptr;
  std::function<void(const PullProgress&)> on_progress;  // at most every progress_interval, plus each stage
  std::chrono::milliseconds progress_interval{100};
  int attempts = 3;                                    // downloads per call (resumes after a dropped connection)
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds idle_timeout{30000};       // no byte for this long = a network failure
};

struct PullResult {
  std::filesystem::path path;   // the model file, final name
  std::string name;             // its name in the library (`llmdesk models`): path relative to the library
  std::string sha256;           // "" when the source publishes none
  bool verified = false;        // sha256 was published and matched
  bool already_present = false; // nothing was downloaded
  uint64_t size = 0;
  uint64_t bytes_transferred = 0;  // body bytes received over the network by this call
  uint64_t resumed_from = 0;       // bytes of an earlier part file that were kept
};

Result<PullResult> Pull(const ModelRef& ref, const PullOptions& options);

}  // namespace llmdesk::models
