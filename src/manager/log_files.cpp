// Where a backend's log lives (the public helpers in manager.h) and TailLines (log_tail.h). Reading one:
// log_files_{posix,win32}.cpp.
#include "common/text.h"
#include "manager/log_tail.h"
#include "manager/manager.h"
#include "manager/private_files.h"

namespace llmdesk::manager {

std::string FileNameFor(const std::string& backend_name) {
  // PercentEncode keeps [A-Za-z0-9-_.~]: encode '~' and a leading '.' too ("..", hidden files).
  std::string out;
  for (char c : PercentEncode(backend_name)) {
    if (c == '~' || (c == '.' && out.empty())) out += c == '~' ? "%7E" : "%2E";
    else out += c;
  }
  return out.empty() ? "%00" : out;  // config names are never empty; keep the result a file name anyway
}

std::filesystem::path LogFilePath(const config::Config& config, const std::string& backend_name,
                                  const std::filesystem::path& log_dir) {
  const auto dir = log_dir.empty() ? DefaultLogDir() : log_dir;
  return dir / ConfigKey(config.source) / (FileNameFor(backend_name) + ".log");
}

std::vector<std::string> TailLines(const std::string& tail, bool starts_mid_file, size_t lines) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t nl = tail.find('\n'); nl != std::string::npos; nl = tail.find('\n', start)) {
    out.push_back(tail.substr(start, nl - start));
    start = nl + 1;
  }
  if (start < tail.size()) out.push_back(tail.substr(start));
  if (starts_mid_file && !out.empty()) out.erase(out.begin());
  if (out.size() > lines) out.erase(out.begin(), out.end() - static_cast<std::ptrdiff_t>(lines));
  return out;
}

}  // namespace llmdesk::manager
