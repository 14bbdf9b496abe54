// The bounded GGUF header reader (see gguf.h for why it is not ggml's). Layout, little-endian:
//   "GGUF" u32 version(2|3) u64 n_tensors u64 n_kv; n_kv × (string key, u32 type, value);
//   n_tensors × (string name, u32 n_dims, u64 dims[n_dims], u32 type, u64 offset); then the data (unread).
//   string = u64 length + bytes; array = u32 item type, u64 count, items.
#include "models/gguf.h"

#include <array>
#include <cstring>
#include <map>

#include "models/model_file.h"
#include "platform/user_dirs.h"

namespace llmdesk::models {
namespace {

enum ValueType : uint32_t {
  kU8 = 0, kI8, kU16, kI16, kU32, kI32, kF32, kBool, kString, kArray, kU64, kI64, kF64, kTypeCount
};
constexpr uint64_t kScalarSize[kTypeCount] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
constexpr uint64_t kMaxKeyBytes = 65536;
constexpr uint64_t kMaxKeptStringBytes = 4u << 20;  // a chat template is ~10 KB; longer values are skipped
constexpr uint32_t kMaxDims = 4;                    // GGML_MAX_DIMS
constexpr int kMaxArrayDepth = 4;                   // arrays of arrays: allowed by the format, bounded here

// Sequential reads over a file or a buffer; every read is checked against the known total size.
class Source {
 public:
  virtual ~Source() = default;
  uint64_t offset() const { return offset_; }
  uint64_t remaining() const { return size_ - offset_; }
  Status Read(void* out, uint64_t n, const char* what) {
    if (n > remaining()) return Truncated(what);
    if (!ReadRaw(static_cast<char*>(out), n)) return Status::IoError(std::string("cannot read ") + what);
    offset_ += n;
    return Status::Ok();
  }
  Status Skip(uint64_t n, const char* what) {
    if (n > remaining()) return Truncated(what);
    if (!SkipRaw(n)) return Status::IoError(std::string("cannot read ") + what);
    offset_ += n;
    return Status::Ok();
  }
  Status Truncated(const char* what) const {
    return Status::InvalidArgument(std::string("truncated or corrupt GGUF header: ") + what + " at offset " +
                                   std::to_string(offset_) + " does not fit in the file");
  }

 protected:
  explicit Source(uint64_t size) : size_(size) {}
  virtual bool ReadRaw(char* out, uint64_t n) = 0;
  virtual bool SkipRaw(uint64_t n) = 0;

 private:
  uint64_t size_;
  uint64_t offset_ = 0;
};

class MemorySource : public Source {
 public:
  explicit MemorySource(std::string_view bytes) : Source(bytes.size()), bytes_(bytes) {}

 private:
  bool ReadRaw(char* out, uint64_t n) override {
    std::memcpy(out, bytes_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  bool SkipRaw(uint64_t n) override {
    pos_ += n;
    return true;
  }
  std::string_view bytes_;
  size_t pos_ = 0;
};

// Buffered reads from a file; skips inside the buffer are free, longer ones seek.
class FileSource : public Source {
 public:
  FileSource(ModelFile& file, uint64_t size) : Source(size), file_(file) {}

 private:
  bool Fill() {
    long long n = file_.Read(buffer_.data(), buffer_.size());
    if (n <= 0) return false;
    begin_ = 0, end_ = static_cast<size_t>(n);
    file_offset_ += static_cast<uint64_t>(n);
    return true;
  }
  bool ReadRaw(char* out, uint64_t n) override {
    while (n > 0) {
      if (begin_ == end_ && !Fill()) return false;
      size_t take = std::min<uint64_t>(n, end_ - begin_);
      std::memcpy(out, buffer_.data() + begin_, take);
      begin_ += take, out += take, n -= take;
    }
    return true;
  }
  bool SkipRaw(uint64_t n) override {
    size_t in_buffer = std::min<uint64_t>(n, end_ - begin_);
    begin_ += in_buffer, n -= in_buffer;
    if (n == 0) return true;
    begin_ = end_ = 0;
    file_offset_ += n;
    return file_.SeekTo(file_offset_);
  }
  ModelFile& file_;
  uint64_t file_offset_ = 0;  // where the file's position is: just after the buffered bytes
  std::array<char, 64 * 1024> buffer_{};
  size_t begin_ = 0, end_ = 0;
};

template <typename T>
Status ReadNumber(Source& in, T& out, const char* what) {
  return in.Read(&out, sizeof(T), what);  // little-endian hosts only (x86-64, arm64)
}

// A string: kept when `keep` and not longer than kMaxKeptStringBytes, else skipped.
Status ReadString(Source& in, std::string* keep, const char* what, uint64_t max_bytes = UINT64_MAX) {
  uint64_t n = 0;
  if (Status s = ReadNumber(in, n, what); !s.ok()) return s;
  if (n > max_bytes)
    return Status::InvalidArgument(std::string("corrupt GGUF header: ") + what + " of " + std::to_string(n) +
                                   " bytes at offset " + std::to_string(in.offset()));
  if (!keep || n > kMaxKeptStringBytes) return in.Skip(n, what);
  keep->resize(n);
  return in.Read(keep->data(), n, what);
}

Status SkipValue(Source& in, uint32_t type, int depth);

Status SkipArray(Source& in, int depth) {
  uint32_t item = 0;
  uint64_t count = 0;
  if (Status s = ReadNumber(in, item, "array type"); !s.ok()) return s;
  if (Status s = ReadNumber(in, count, "array length"); !s.ok()) return s;
  if (item >= kTypeCount || depth >= kMaxArrayDepth)
    return Status::InvalidArgument("corrupt GGUF header: array of type " + std::to_string(item) + " at offset " +
                                   std::to_string(in.offset()));
  if (kScalarSize[item] > 0) {
    if (count > in.remaining() / kScalarSize[item]) return in.Truncated("array");
    return in.Skip(count * kScalarSize[item], "array");
  }
  if (count > in.remaining() / 8) return in.Truncated("array");  // every item holds at least a u64 length
  for (uint64_t i = 0; i < count; ++i)
    if (Status s = SkipValue(in, item, depth + 1); !s.ok()) return s;
  return Status::Ok();
}

Status SkipValue(Source& in, uint32_t type, int depth) {
  if (type == kString) return ReadString(in, nullptr, "string value");
  if (type == kArray) return SkipArray(in, depth);
  return in.Skip(kScalarSize[type], "value");
}

// A scalar integer value of any integer type, for file_type and context_length.
Status ReadInteger(Source& in, uint32_t type, std::optional<uint64_t>& out) {
  uint64_t v = 0;
  switch (type) {
    case kU8: case kI8: case kU16: case kI16: case kU32: case kI32: case kU64: case kI64: {
      if (Status s = in.Read(&v, kScalarSize[type], "integer value"); !s.ok()) return s;
      bool negative = (type == kI8 || type == kI16 || type == kI32 || type == kI64) &&
                      ((v >> (kScalarSize[type] * 8 - 1)) & 1);
      if (!negative) out = v;
      return Status::Ok();
    }
    default: return SkipValue(in, type, 0);
  }
}

const char* TensorTypeName(uint32_t type) {
  static const std::map<uint32_t, const char*> kNames = {
      {0, "F32"},     {1, "F16"},     {2, "Q4_0"},    {3, "Q4_1"},    {6, "Q5_0"},   {7, "Q5_1"},    {8, "Q8_0"},
      {9, "Q8_1"},    {10, "Q2_K"},   {11, "Q3_K"},   {12, "Q4_K"},   {13, "Q5_K"},  {14, "Q6_K"},   {15, "Q8_K"},
      {16, "IQ2_XXS"}, {17, "IQ2_XS"}, {18, "IQ3_XXS"}, {19, "IQ1_S"}, {20, "IQ4_NL"}, {21, "IQ3_S"}, {22, "IQ2_S"},
      {23, "IQ4_XS"}, {24, "I8"},     {25, "I16"},    {26, "I32"},    {27, "I64"},   {28, "F64"},    {29, "IQ1_M"},
      {30, "BF16"},   {34, "TQ1_0"},  {35, "TQ2_0"},  {39, "MXFP4"}};
  auto it = kNames.find(type);
  return it == kNames.end() ? "" : it->second;
}

Result<GgufInfo> Parse(Source& in) {
  GgufInfo info;
  char magic[4];
  if (Status s = in.Read(magic, 4, "magic"); !s.ok()) return Status::InvalidArgument("not a GGUF file (too short)");
  if (std::memcmp(magic, "GGUF", 4) != 0) return Status::InvalidArgument("not a GGUF file (no GGUF magic)");
  if (Status s = ReadNumber(in, info.version, "version"); !s.ok()) return s;
  if (info.version != 2 && info.version != 3)
    return Status::InvalidArgument("unsupported GGUF version " + std::to_string(info.version) +
                                   " (llmdesk reads versions 2 and 3, little-endian)");
  uint64_t n_kv = 0;
  if (Status s = ReadNumber(in, info.tensor_count, "tensor count"); !s.ok()) return s;
  if (Status s = ReadNumber(in, n_kv, "key count"); !s.ok()) return s;
  // Each key-value takes at least 12 bytes, each tensor info at least 24: counts beyond that are lies.
  if (n_kv > in.remaining() / 12 || info.tensor_count > in.remaining() / 24)
    return in.Truncated("the key and tensor counts");

  std::optional<uint64_t> file_type;
  std::map<std::string, uint64_t> context_lengths;  // "<arch>.context_length" may come before the arch
  std::string chat_template;
  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string key;
    uint32_t type = 0;
    if (Status s = ReadString(in, &key, "key", kMaxKeyBytes); !s.ok()) return s;
    if (Status s = ReadNumber(in, type, "value type"); !s.ok()) return s;
    if (type >= kTypeCount)
      return Status::InvalidArgument("corrupt GGUF header: key '" + key.substr(0, 64) + "' has value type " +
                                     std::to_string(type));
    std::string* keep = nullptr;
    if (type == kString) {
      if (key == "general.architecture") keep = &info.architecture;
      else if (key == "general.name") keep = &info.name;
      else if (key == "general.description") keep = &info.description;
      else if (key == "tokenizer.chat_template") keep = &chat_template, info.has_chat_template = true;
      if (Status s = ReadString(in, keep, "string value"); !s.ok()) return s;
    } else if (key == "general.file_type") {
      if (Status s = ReadInteger(in, type, file_type); !s.ok()) return s;
    } else if (key.size() > 15 && key.compare(key.size() - 15, 15, ".context_length") == 0) {
      std::optional<uint64_t> v;
      if (Status s = ReadInteger(in, type, v); !s.ok()) return s;
      if (v) context_lengths[key.substr(0, key.size() - 15)] = *v;
    } else if (Status s = SkipValue(in, type, 0); !s.ok()) {
      return s;
    }
  }
  if (auto it = context_lengths.find(info.architecture); it != context_lengths.end()) info.context_length = it->second;
  info.template_supports_tools = TemplateSupportsTools(chat_template);

  std::map<std::string, uint64_t> elements_by_type;
  for (uint64_t i = 0; i < info.tensor_count; ++i) {
    uint32_t n_dims = 0, type = 0;
    if (Status s = ReadString(in, nullptr, "tensor name", kMaxKeyBytes); !s.ok()) return s;
    if (Status s = ReadNumber(in, n_dims, "tensor dimensions"); !s.ok()) return s;
    if (n_dims > kMaxDims)
      return Status::InvalidArgument("corrupt GGUF header: a tensor with " + std::to_string(n_dims) + " dimensions");
    uint64_t elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      uint64_t dim = 0;
      if (Status s = ReadNumber(in, dim, "tensor shape"); !s.ok()) return s;
      if (dim != 0 && elements > UINT64_MAX / dim)
        return Status::InvalidArgument("corrupt GGUF header: a tensor shape overflows 64 bits");
      elements *= dim;
    }
    if (Status s = ReadNumber(in, type, "tensor type"); !s.ok()) return s;
    if (Status s = in.Skip(8, "tensor offset"); !s.ok()) return s;
    if (elements > UINT64_MAX - info.parameter_count)
      return Status::InvalidArgument("corrupt GGUF header: the parameter count overflows 64 bits");
    info.parameter_count += elements;
    elements_by_type[TensorTypeName(type)] += elements;
  }
  if (file_type && *file_type <= UINT32_MAX) info.quantization = FileTypeName(static_cast<uint32_t>(*file_type));
  if (info.quantization.empty()) {  // the type holding the most weights
    uint64_t most = 0;
    for (const auto& [name, count] : elements_by_type)
      if (!name.empty() && count > most) most = count, info.quantization = name;
  }
  return info;
}

bool IsWordChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

bool UsesName(std::string_view tag, std::string_view name) {
  for (size_t at = tag.find(name); at != std::string_view::npos; at = tag.find(name, at + 1)) {
    bool starts = at == 0 || !IsWordChar(tag[at - 1]);
    bool ends = at + name.size() == tag.size() || !IsWordChar(tag[at + name.size()]);
    // message['tool_calls'] counts too: the template reads the calls.
    if (starts && ends) return true;
  }
  return false;
}

}  // namespace

bool TemplateSupportsTools(std::string_view text) {
  for (size_t open = text.find('{'); open != std::string_view::npos; open = text.find('{', open + 1)) {
    if (open + 1 >= text.size() || (text[open + 1] != '%' && text[open + 1] != '{')) continue;
    std::string_view closing = text[open + 1] == '%' ? "%}" : "}}";
    size_t close = text.find(closing, open + 2);
    if (close == std::string_view::npos) return false;
    std::string_view tag = text.substr(open + 2, close - open - 2);
    if (UsesName(tag, "tools") || UsesName(tag, "tool_calls")) return true;
    open = close;
  }
  return false;
}

std::string FileTypeName(uint32_t t) {
  static const std::map<uint32_t, const char*> kNames = {
      {0, "F32"},      {1, "F16"},     {2, "Q4_0"},    {3, "Q4_1"},    {7, "Q8_0"},    {8, "Q5_0"},   {9, "Q5_1"},
      {10, "Q2_K"},    {11, "Q3_K_S"}, {12, "Q3_K_M"}, {13, "Q3_K_L"}, {14, "Q4_K_S"}, {15, "Q4_K_M"}, {16, "Q5_K_S"},
      {17, "Q5_K_M"},  {18, "Q6_K"},   {19, "IQ2_XXS"}, {20, "IQ2_XS"}, {21, "Q2_K_S"}, {22, "IQ3_XS"}, {23, "IQ3_XXS"},
      {24, "IQ1_S"},   {25, "IQ4_NL"}, {26, "IQ3_S"},  {27, "IQ3_M"},  {28, "IQ2_S"},  {29, "IQ2_M"},  {30, "IQ4_XS"},
      {31, "IQ1_M"},   {32, "BF16"},   {36, "TQ1_0"},  {37, "TQ2_0"},  {38, "MXFP4_MOE"}};
  auto it = kNames.find(t);
  return it == kNames.end() ? "" : it->second;
}

Result<GgufInfo> ParseGgufHeader(std::string_view bytes) {
  MemorySource in(bytes);
  return Parse(in);
}

Result<GgufInfo> ReadGgufInfo(const std::filesystem::path& path, uint64_t max_header_bytes) {
  auto file = ModelFile::OpenForReading(path);
  if (!file.ok()) return file.status();
  const std::string name = platform::PathToUtf8(path);
  auto size = file->Size();
  if (!size) return Status::IoError("cannot read " + name + ": not a regular file");
  FileSource in(*file, std::min<uint64_t>(*size, max_header_bytes));
  auto info = Parse(in);
  if (!info.ok()) return Status(info.status().code() == Status::Code::kIoError
                                    ? Status::IoError(name + ": " + info.status().message())
                                    : Status::InvalidArgument(name + ": " + info.status().message()));
  return info;
}

}  // namespace llmdesk::models
