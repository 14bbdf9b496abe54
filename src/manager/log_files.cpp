// Where a backend's log lives, and reading the end of one (the public helpers in manager.h).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "common/text.h"
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

Result<std::vector<std::string>> TailLogFile(const std::filesystem::path& path, size_t lines) {
  auto fd = OpenNoFollow(path, O_RDONLY | O_NONBLOCK);
  if (!fd.ok()) {
    if (fd.status().code() == Status::Code::kNotFound)
      return Status::NotFound("no log at " + path.string() + " (the backend has not run yet?)");
    return fd.status();
  }
  struct stat st {};
  if (fstat(fd->get(), &st) != 0 || !S_ISREG(st.st_mode))
    return Status::InvalidArgument(path.string() + " is not a regular file");
  // Read backwards in blocks until enough newlines are seen (a 4 MiB log costs a few blocks).
  constexpr size_t kBlock = 64 * 1024;
  std::string tail;
  off_t end = st.st_size;
  size_t newlines = 0;
  while (end > 0 && newlines <= lines) {
    const size_t n = static_cast<size_t>(std::min<off_t>(end, kBlock));
    std::string block(n, '\0');
    ssize_t got = pread(fd->get(), block.data(), n, end - static_cast<off_t>(n));
    if (got < 0 && errno == EINTR) continue;
    if (got != static_cast<ssize_t>(n)) return Status::IoError("cannot read " + path.string());
    newlines += static_cast<size_t>(std::count(block.begin(), block.end(), '\n'));
    tail.insert(0, block);
    end -= static_cast<off_t>(n);
  }
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t nl = tail.find('\n'); nl != std::string::npos; nl = tail.find('\n', start)) {
    out.push_back(tail.substr(start, nl - start));
    start = nl + 1;
  }
  if (start < tail.size()) out.push_back(tail.substr(start));
  if (end > 0 && !out.empty()) out.erase(out.begin());  // the first piece may be a partial line
  if (out.size() > lines) out.erase(out.begin(), out.end() - static_cast<std::ptrdiff_t>(lines));
  return out;
}

}  // namespace llmdesk::manager
