// process/environment.h — the environment of a program we start (private to src/process): ours plus
// additions, shared by RunCapture and Child::Spawn.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace llmdesk::process {

// Our environment with each KEY of `additions` replaced (or added) by KEY=value.
std::vector<std::string> BuildEnvironment(const std::map<std::string, std::string>& additions);
// execve's view of `strings`: pointers into them, nullptr-terminated (valid while `strings` lives).
std::vector<char*> EnvironmentPointers(std::vector<std::string>& strings);

}  // namespace llmdesk::process
