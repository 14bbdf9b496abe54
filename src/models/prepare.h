// models/prepare.h — the model files a start needs, before the stack starts (issue 11): `hf:` entries found
// locally or pulled, and the offline first run's demo model.
//
// PrepareModels(config, names) returns the config with `model:` filled in for each named local backend that
// has `hf:` and no file: the library or the Hugging Face cache first (library.h), else Pull (pull.h). When
// the built-in defaults' `default` model cannot be had that way (offline, hub down), and options.demo is
// set, it runs the built-in demo model instead: the generated tool-then-answer model (llmdesk-testmodel
// --tool-call calculator … --answer-after-tool …), made on first use at LIBRARY/llmdesk-demo/ and labelled
// kDemoLabel (config::ModelConfig::label) — so a newcomer sees the whole stack work before any download.
// What it did is said in `notes` (one line each), for the front end to print.
//
// Errors: a pull that fails for a model of the user's own config is returned as is (the front end exits
// without starting anything); so is a demo model that cannot be made (llmdesk-testmodel missing).
// Blocks the caller (downloads); callbacks run on the caller's thread.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "config/config.h"
#include "models/pull.h"

namespace llmdesk::models {

struct PrepareOptions {
  PullOptions pull;                                  // endpoint, token, library, cancel, on_progress
  bool demo = true;                                  // offline first run: fall back to the demo model
  std::filesystem::path testmodel;                   // llmdesk-testmodel; empty = FindTestmodelProgram()
  std::function<void(const std::string&)> on_pull;  // "pulling REF for model NAME" before each pull
};

struct Prepared {
  config::Config config;
  std::vector<std::string> notes;  // what the front end should say (one line each)
  bool demo = false;               // the demo model stands in for `default`
};

Result<Prepared> PrepareModels(config::Config config, const std::vector<std::string>& names,
                               const PrepareOptions& options, const config::GetEnv& env);

// The demo model: LIBRARY/llmdesk-demo/tool-then-answer.gguf, generated when missing.
std::filesystem::path DemoModelPath(const config::GetEnv& env);
Result<std::filesystem::path> EnsureDemoModel(const std::filesystem::path& testmodel, const config::GetEnv& env);
// llmdesk-testmodel next to the running program (build/bin), else on PATH.
std::optional<std::filesystem::path> FindTestmodelProgram(const config::GetEnv& env);

}  // namespace llmdesk::models
