// The one transition table of a backend's state machine. Every state change in the manager goes
// through Impl::Transition, which checks it here first.
#include <utility>

#include "manager/manager.h"

namespace llmdesk::manager {
namespace {

constexpr std::pair<State, State> kTransitions[] = {
    {State::kStopped, State::kStarting},   // start
    {State::kStarting, State::kReady},     // /health answered 200
    {State::kReady, State::kStopping},     // stop
    {State::kStopping, State::kStopped},   // the process group is gone
    {State::kStarting, State::kFailed},    // bad config, no port, exited while loading, startup timeout
    {State::kReady, State::kFailed},       // crash limit reached
    {State::kFailed, State::kStarting},    // explicit start after a failure
    {State::kStarting, State::kStarting},  // retry on another port / crash restart while loading
    {State::kReady, State::kStarting},     // crash restart
    {State::kStarting, State::kStopping},  // stop while loading (or while waiting for a restart)
    {State::kFailed, State::kStopped},     // stop acknowledges a failure
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
  for (const auto& [a, b] : kTransitions)
    if (a == from && b == to) return true;
  return false;
}

}  // namespace llmdesk::manager
