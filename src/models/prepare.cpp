// PrepareModels and the demo model (prepare.h).
#include "models/prepare.h"

#include <algorithm>

#include "models/library.h"
#include "platform/files.h"
#include "platform/user_dirs.h"
#include "process/process.h"

namespace llmdesk::models {
namespace {

namespace fs = std::filesystem;
constexpr const char* kDemoFile = "llmdesk-demo/tool-then-answer.gguf";

}  // namespace

fs::path DemoModelPath(const config::GetEnv& env) {
  fs::path lib = LibraryDir(env);
  return lib.empty() ? fs::path() : lib / kDemoFile;
}

std::optional<fs::path> FindTestmodelProgram(const config::GetEnv& env) {
  if (fs::path self = platform::ExecutablePath(); !self.empty()) {
    // A path names itself: FindProgram checks it is an executable file (and adds `.exe` on Windows).
    if (auto beside = process::FindProgram(platform::PathToUtf8(self.parent_path() / "llmdesk-testmodel"), "")) return beside;
  }
  return process::FindProgram("llmdesk-testmodel", env("PATH").value_or(""));
}

Result<fs::path> EnsureDemoModel(const fs::path& testmodel, const config::GetEnv& env) {
  fs::path out = DemoModelPath(env);
  if (out.empty()) return Status::FailedPrecondition("neither XDG_DATA_HOME nor HOME is set: no place for the demo model");
  std::error_code ec;
  if (fs::is_regular_file(out, ec)) return out;
  fs::create_directories(out.parent_path(), ec);
  if (ec) return Status::IoError("cannot create " + platform::PathToUtf8(out.parent_path()) + ": " + ec.message());
  fs::path program = testmodel;
  if (program.empty()) {
    auto found = FindTestmodelProgram(env);
    if (!found)
      return Status::NotFound("the demo model needs llmdesk-testmodel (built next to llmdesk by scripts/setup), "
                              "which is not there");
    program = *found;
  }
  // The scripted tool-then-answer model: calls calculator(2+2), then answers with the tool's result.
  auto run = process::RunCapture({platform::PathToUtf8(program), "--out", platform::PathToUtf8(out), "--tool-call", "calculator",
                                  R"({"expression":"2+2"})", "--answer-after-tool", "2+2 = "},
                                 std::chrono::seconds(120));
  if (!run.ok()) return Status::Unavailable("cannot make the demo model: " + run.status().message());
  if (run->exit_code != 0 || !fs::is_regular_file(out, ec))
    return Status::Unavailable("cannot make the demo model (" + platform::PathToUtf8(program) + " exited with " +
                               std::to_string(run->exit_code) + "): " + run->output.substr(0, 2000));
  return out;
}

Result<Prepared> PrepareModels(config::Config config, const std::vector<std::string>& names,
                               const PrepareOptions& options, const config::GetEnv& env) {
  Prepared out;
  for (const auto& name : names) {
    auto it = std::find_if(config.models.begin(), config.models.end(), [&](const auto& m) { return m.name == name; });
    if (it == config.models.end()) continue;
    config::ModelConfig& m = *it;
    if (m.kind != config::ModelConfig::Kind::kLocal || !m.model.empty() || m.hf.empty()) continue;
    auto ref = ParseModelRef(m.hf);
    if (!ref.ok()) return ref.status();
    if (auto local = FindLocalHfModel(ref->repo, ref->quant, env)) {
      m.model = platform::PathToUtf8(*local);
      continue;
    }
    if (options.on_pull) options.on_pull("pulling " + m.hf + " for model '" + m.name + "'");
    auto pulled = Pull(*ref, options.pull);
    if (pulled.ok()) {
      m.model = platform::PathToUtf8(pulled->path);
      continue;
    }
    // Only the built-in `default` (its location is line 0: no `models:` in the file, or no file at all).
    const bool offline_first_run = m.where.line == 0 && m.name == "default" && options.demo &&
                                   pulled.status().code() != Status::Code::kCancelled;
    if (!offline_first_run)
      return Status(pulled.status().code() == Status::Code::kNotFound
                        ? Status::NotFound("model '" + m.name + "' (hf: " + m.hf + "): " + pulled.status().message())
                        : pulled.status());
    auto demo = EnsureDemoModel(options.testmodel, env);
    if (!demo.ok()) return demo.status();
    out.notes.push_back("the default model (" + m.hf + ") is not here and cannot be pulled (" +
                        pulled.status().message().substr(0, 200) + "); get a real model with `llmdesk pull " + m.hf +
                        "` or `model: /path/to/model.gguf` in llm_backends.yaml — running the demo model meanwhile (" +
                        kDemoLabel + ")");
    m.model = platform::PathToUtf8(*demo);
    m.hf.clear();
    m.label = kDemoLabel;
    out.demo = true;
  }
  out.config = std::move(config);
  return out;
}

}  // namespace llmdesk::models
