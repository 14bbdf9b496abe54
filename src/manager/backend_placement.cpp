// Backend, part 4: where the model runs (issue 15) — the `device:` choice before a spawn, and the device,
// layers and memory the engine reports while loading (manager/placement.h reads its lines).
#include "engine/devices.h"
#include "manager/backend.h"
#include "manager/placement.h"

namespace llmdesk::manager {

Status Backend::ChooseDevicePlacement() {
  cpu_fallback_.clear();
  device_env_.clear();
  if (model_.device.empty() || model_.device == "cpu") return Status::Ok();
  auto report = engine::ProbeDevices(engine_, model_.env);
  if (!report.ok())
    return Status::Unavailable("model '" + model_.name + "' names device " + model_.device +
                               ", but the engine could not list its devices: " + report.status().message());
  auto choice = engine::ChooseDevice(model_.device, *report);
  const std::string where = model_.device_where.line ? " (" + model_.device_where.ToString() + ")" : "";
  switch (choice.kind) {
    case engine::DeviceChoice::Kind::kMissing:
      return Status::NotFound("model '" + model_.name + "': " + choice.message + where);
    case engine::DeviceChoice::Kind::kCpuFallback: {
      cpu_fallback_ = model_.device + ": " + choice.message;
      Event e;
      e.kind = Event::Kind::kWarning;
      e.backend = model_.name;
      e.old_state = e.new_state = status_.state;
      e.reason = cpu_fallback_;
      host_.Emit(std::move(e));
      return Status::Ok();
    }
    case engine::DeviceChoice::Kind::kAsConfigured:
      if (choice.device) device_env_ = engine::DeviceEnv(*choice.device);
      return Status::Ok();
  }
  return Status::Ok();
}

void Backend::OnPlacementLine(std::string_view line) {
  if (model_.kind != config::ModelConfig::Kind::kLocal) return;
  if (!UpdatePlacement(status_.placement, line, SpawnModel())) return;
  if (!cpu_fallback_.empty()) status_.placement.note = cpu_fallback_;  // the reason it runs on the CPU
  host_.Publish(*this);
}

// What is spawned: the entry with the resolved model file and the device choice applied.
config::ModelConfig Backend::SpawnModel() const {
  config::ModelConfig m = model_;
  if (!model_file_.empty()) m.model = model_file_;
  if (!cpu_fallback_.empty()) m.device = "cpu", m.gpu_layers = "auto";
  for (const auto& [k, v] : device_env_) m.env.emplace(k, v);  // the entry's own env wins
  return m;
}

}  // namespace llmdesk::manager
