// tools/schema.cpp — a validator for the small JSON Schema subset the tools' inputSchemas use.
//
// No Debian package offers a C++ JSON Schema validator, so this covers exactly the keywords listed in
// tools.h and nothing more; unknown keywords (title, description, default, ...) are ignored, as JSON
// Schema requires. The first violation found is reported, with a path a model can act on.
#include <cmath>
#include <optional>
#include <string>

#include "tools/tools.h"

namespace llmdesk::tools {
namespace {

using nlohmann::json;

std::string Validate(const json& schema, const json& value, const std::string& path);

// Short rendering of the offending value: "got 42", "got \"abc\"", long values cut.
std::string Shown(const json& v) {
  std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
  if (s.size() > 60) {
    size_t cut = 57;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;  // never split a UTF-8 sequence
    s = s.substr(0, cut) + "...";
  }
  return s;
}

bool IsWholeNumber(const json& v) {
  if (v.is_number_integer()) return true;
  if (!v.is_number_float()) return false;
  double d = v.get<double>();
  return std::isfinite(d) && std::floor(d) == d;
}

bool HasType(const json& v, const std::string& type) {
  if (type == "string") return v.is_string();
  if (type == "integer") return IsWholeNumber(v);  // JSON Schema: 1.0 is an integer
  if (type == "number") return v.is_number();
  if (type == "boolean") return v.is_boolean();
  if (type == "object") return v.is_object();
  if (type == "array") return v.is_array();
  if (type == "null") return v.is_null();
  return true;  // unknown type names constrain nothing
}

std::string Article(const std::string& type) {
  if (type == "null") return "null";
  bool vowel = !type.empty() && std::string("aeiou").find(type[0]) != std::string::npos;
  return (vowel ? "an " : "a ") + type;
}

std::string CheckType(const json& schema, const json& value, const std::string& path) {
  auto it = schema.find("type");
  if (it == schema.end()) return "";
  std::vector<std::string> types;
  if (it->is_string()) types.push_back(it->get<std::string>());
  if (it->is_array())
    for (const auto& t : *it)
      if (t.is_string()) types.push_back(t.get<std::string>());
  if (types.empty()) return "";
  for (const auto& t : types)
    if (HasType(value, t)) return "";
  std::string expected;
  for (size_t i = 0; i < types.size(); ++i) expected += (i ? " or " : "") + Article(types[i]);
  return path + ": expected " + expected + ", got " + Shown(value);
}

std::string CheckNumber(const json& schema, const json& value, const std::string& path) {
  if (!value.is_number()) return "";
  double v = value.get<double>();
  if (auto it = schema.find("minimum"); it != schema.end() && it->is_number() && v < it->get<double>())
    return path + ": must be at least " + it->dump() + ", got " + Shown(value);
  if (auto it = schema.find("maximum"); it != schema.end() && it->is_number() && v > it->get<double>())
    return path + ": must be at most " + it->dump() + ", got " + Shown(value);
  return "";
}

// A non-negative integer keyword (minLength, maxItems, ...), if present and well-formed.
std::optional<size_t> Count(const json& schema, const char* keyword) {
  auto it = schema.find(keyword);
  if (it == schema.end() || !it->is_number_integer() || it->get<int64_t>() < 0) return std::nullopt;
  return it->get<size_t>();
}

// Length in Unicode code points (JSON Schema counts characters, not bytes).
size_t CodePoints(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

std::string CheckString(const json& schema, const json& value, const std::string& path) {
  if (!value.is_string()) return "";
  size_t len = CodePoints(value.get_ref<const std::string&>());
  if (auto min = Count(schema, "minLength"); min && len < *min)
    return path + ": must be at least " + std::to_string(*min) + " characters long, got " + std::to_string(len);
  if (auto max = Count(schema, "maxLength"); max && len > *max)
    return path + ": must be at most " + std::to_string(*max) + " characters long, got " + std::to_string(len);
  return "";
}

std::string CheckEnum(const json& schema, const json& value, const std::string& path) {
  auto it = schema.find("enum");
  if (it == schema.end() || !it->is_array()) return "";
  for (const auto& allowed : *it)
    if (allowed == value) return "";
  return path + ": must be one of " + Shown(*it) + ", got " + Shown(value);
}

std::string CheckObject(const json& schema, const json& value, const std::string& path) {
  if (!value.is_object()) return "";
  const json* props = nullptr;
  if (auto it = schema.find("properties"); it != schema.end() && it->is_object()) props = &*it;
  if (auto it = schema.find("required"); it != schema.end() && it->is_array())
    for (const auto& name : *it)
      if (name.is_string() && !value.contains(name.get<std::string>()))
        return path + ": missing required property '" + name.get<std::string>() + "'";
  bool closed = schema.value("additionalProperties", json(true)) == json(false);
  for (const auto& [key, item] : value.items()) {
    if (props && props->contains(key)) {
      if (auto err = Validate((*props)[key], item, path + "." + key); !err.empty()) return err;
    } else if (closed) {
      std::string known;
      if (props)
        for (const auto& [name, _] : props->items()) known += (known.empty() ? "" : ", ") + name;
      return path + ": unknown property '" + key + "'" +
             (known.empty() ? " (no properties are accepted)" : " (accepted: " + known + ")");
    }
  }
  return "";
}

std::string CheckArray(const json& schema, const json& value, const std::string& path) {
  if (!value.is_array()) return "";
  if (auto min = Count(schema, "minItems"); min && value.size() < *min)
    return path + ": must have at least " + std::to_string(*min) + " items, got " + std::to_string(value.size());
  if (auto max = Count(schema, "maxItems"); max && value.size() > *max)
    return path + ": must have at most " + std::to_string(*max) + " items, got " + std::to_string(value.size());
  if (auto it = schema.find("items"); it != schema.end() && it->is_object())
    for (size_t i = 0; i < value.size(); ++i)
      if (auto err = Validate(*it, value[i], path + "[" + std::to_string(i) + "]"); !err.empty())
        return err;
  return "";
}

// The first violation as "<path>: <what>", or "" when `value` is valid.
std::string Validate(const json& schema, const json& value, const std::string& path) {
  if (!schema.is_object()) return "";  // `true`/absent schema accepts everything
  for (auto check : {CheckType, CheckEnum, CheckNumber, CheckString, CheckObject, CheckArray})
    if (auto err = check(schema, value, path); !err.empty()) return err;
  return "";
}

}  // namespace

Status ValidateAgainstSchema(const nlohmann::json& schema, const nlohmann::json& value, const std::string& path) {
  std::string error = Validate(schema, value, path);
  return error.empty() ? Status::Ok() : Status::InvalidArgument(std::move(error));
}

}  // namespace llmdesk::tools
