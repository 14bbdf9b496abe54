// engine/engine_files.h (private to engine/) — how llama.cpp's files are named and laid out on this platform.
// One interface, chosen at build time (docs/WINDOWS.md): engine_files_posix.cpp, engine_files_win32.cpp.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace llmdesk::engine {

// llama-server inside an install prefix: PREFIX/bin/llama-server (Windows: PREFIX\bin\llama-server.exe).
std::filesystem::path LlamaServerInPrefix(const std::filesystem::path& prefix);

// Where a packaged llmdesk carries its own engine, relative to the folder of the running program: none on
// POSIX (the engine comes from PATH or the setup prefix); on Windows the zip's layout, llama-server.exe beside
// llmdesk.exe.
std::vector<std::filesystem::path> BundledLlamaServers(const std::filesystem::path& program_dir);

// The backend a ggml module file provides, lower case ("vulkan", "cpu-haswell"), or nullopt when `file` is not
// one: libggml-NAME.so on POSIX; ggml-NAME.dll or libggml-NAME.dll (MinGW's prefix) on Windows.
std::optional<std::string> BackendModuleName(std::string_view file);

}  // namespace llmdesk::engine
