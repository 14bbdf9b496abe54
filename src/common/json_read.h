// common/json_read.h — reading fields of JSON that another process or a user sent, without exceptions.
// nlohmann's `j.value("name", "")` throws type_error when the member exists with another type
// ({"name": 5}), and an exception on a supervisor or worker thread ends the process: every read of
// untrusted JSON goes through these instead. Each returns `fallback` when `object` is not an object, the
// member is missing, or it has the wrong type. Pure functions, no state.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace llmdesk {

// The member's value when it is a string.
inline std::string JsonString(const nlohmann::json& object, std::string_view key, std::string fallback = {}) {
  if (!object.is_object()) return fallback;
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : fallback;
}

// The member's value when it is an integer that fits int64_t (a float or an unsigned beyond INT64_MAX
// is not one).
inline int64_t JsonInt(const nlohmann::json& object, std::string_view key, int64_t fallback = 0) {
  if (!object.is_object()) return fallback;
  auto it = object.find(key);
  if (it == object.end()) return fallback;
  if (it->is_number_unsigned())
    return it->get<uint64_t>() <= static_cast<uint64_t>(INT64_MAX) ? static_cast<int64_t>(it->get<uint64_t>())
                                                                   : fallback;
  return it->is_number_integer() ? it->get<int64_t>() : fallback;
}

// The member's value when it is a number (integer or float).
inline double JsonNumber(const nlohmann::json& object, std::string_view key, double fallback = 0) {
  if (!object.is_object()) return fallback;
  auto it = object.find(key);
  return it != object.end() && it->is_number() ? it->get<double>() : fallback;
}

// The member's value when it is a boolean.
inline bool JsonBool(const nlohmann::json& object, std::string_view key, bool fallback = false) {
  if (!object.is_object()) return fallback;
  auto it = object.find(key);
  return it != object.end() && it->is_boolean() ? it->get<bool>() : fallback;
}

}  // namespace llmdesk
