// The one transition table of a backend's state machine. Every state change in the manager goes
// through Backend::Transition, which checks it here; Manager's commands check their trigger here.
#include "manager/manager.h"

namespace llmdesk::manager {
namespace {

struct Row {
  State from;
  State to;
  Trigger trigger;
};

constexpr Row kTransitions[] = {
    {State::kStopped, State::kStarting, Trigger::kStart},   // start: spawned
    {State::kFailed, State::kStarting, Trigger::kStart},    // start again after a failure
    {State::kStopped, State::kFailed, Trigger::kStart},     // refused before spawning (no file, no port, ...)
    {State::kFailed, State::kFailed, Trigger::kStart},      // ... again
    {State::kStarting, State::kStarting, Trigger::kRetry},  // another port / crash restart while loading
    {State::kReady, State::kStarting, Trigger::kRetry},     // crash restart (also: stopped answering /health)
    {State::kStarting, State::kReady, Trigger::kHealthy},   // /health answered 200
    {State::kStarting, State::kStopping, Trigger::kStop},   // stop while loading (or waiting for a restart)
    {State::kReady, State::kStopping, Trigger::kStop},      // stop, ttl
    {State::kFailed, State::kStopped, Trigger::kStop},      // stop acknowledges a failure
    {State::kStopping, State::kStopped, Trigger::kExited},  // the process group is gone
    {State::kStarting, State::kFailed, Trigger::kFail},     // exited while loading, startup timeout, no port
    {State::kReady, State::kFailed, Trigger::kFail},        // crash limit reached
};

}  // namespace

const char* ToString(State s) {
  switch (s) {
    case State::kStopped:
      return "stopped";
    case State::kStarting:
      return "starting";
    case State::kReady:
      return "ready";
    case State::kStopping:
      return "stopping";
    case State::kFailed:
      return "failed";
  }
  return "unknown";
}

bool IsValidTransition(State from, State to) {
  for (const auto& row : kTransitions)
    if (row.from == from && row.to == to) return true;
  return false;
}

bool IsAllowed(State from, Trigger trigger) {
  for (const auto& row : kTransitions)
    if (row.from == from && row.trigger == trigger) return true;
  return false;
}

}  // namespace llmdesk::manager
