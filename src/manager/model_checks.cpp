// Backend, part 3: the model file before a spawn — an `hf:` entry's local file, and the tool-support warning
// (issue 11). Both read only local files (models/library.h, models/gguf.h: a bounded header read).
#include "manager/backend.h"
#include "models/gguf.h"
#include "models/library.h"
#include "models/pull.h"

namespace llmdesk::manager {

Status Backend::ResolveModelFile() {
  model_file_.clear();
  if (model_.kind != config::ModelConfig::Kind::kLocal || !model_.model.empty() || model_.hf.empty())
    return Status::Ok();
  auto ref = models::ParseModelRef(model_.hf);
  if (!ref.ok()) return ref.status();
  if (auto file = models::FindLocalHfModel(ref->repo, ref->quant, config::ProcessEnv())) {
    model_file_ = file->string();
    return Status::Ok();
  }
  return Status::NotFound("model '" + model_.name + "' (hf: " + model_.hf + ") is not downloaded yet: run `llmdesk pull " +
                          model_.hf + "` (`llmdesk up` pulls it before starting)");
}

void Backend::WarnIfNoToolSupport() {
  const config::Config& cfg = host_.options().config;
  const bool tools_on = !cfg.tool_server.tools.empty() || !cfg.mcp_servers.empty();
  const std::string file = model_file_.empty() ? model_.model : model_file_;
  if (!tools_on || model_.kind != config::ModelConfig::Kind::kLocal || file.empty()) return;
  auto info = models::ReadGgufInfo(file);
  if (!info.ok() || info->template_supports_tools) return;  // an unreadable file fails in the engine, with its words
  Event e;
  e.kind = Event::Kind::kWarning;
  e.backend = model_.name;
  e.old_state = e.new_state = status_.state;
  e.reason = "the chat template of " + std::filesystem::path(file).filename().string() +
             (info->has_chat_template ? " has no tool support" : " is missing") +
             ": with tools on, this model will not call them (pick a tool-capable model such as Qwen2.5-Instruct, or "
             "chat with --no-tools)";
  host_.Emit(std::move(e));
}

}  // namespace llmdesk::manager
