// Backend, part 3 on Windows: models/ (the hub library, `llmdesk pull`, the GGUF reader) is not in the Windows
// build yet (docs/WINDOWS.md), so an `hf:` entry is refused with what to do instead, and the tool-support warning
// (which reads the GGUF's chat template) is not given. Everything else about the model file is as on POSIX.
#include "manager/backend.h"

namespace llmdesk::manager {

Status Backend::ResolveModelFile() {
  model_file_.clear();
  if (model_.kind != config::ModelConfig::Kind::kLocal || !model_.model.empty() || model_.hf.empty())
    return Status::Ok();
  return Status::FailedPrecondition("model '" + model_.name + "' (hf: " + model_.hf +
                                    ") cannot be used by llmdesk on Windows yet (no `llmdesk pull` there): download the "
                                    "GGUF file and give its path as `model:`");
}

void Backend::WarnIfNoToolSupport() {}

}  // namespace llmdesk::manager
