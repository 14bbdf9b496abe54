// apps/gui/json_fields.h — reading fields of JSON that came over a socket: a missing field or one of another type
// gives the fallback, never an exception.
#pragma once

#include <QString>

#include <nlohmann/json.hpp>

namespace llmdesk::gui {

inline QString JStr(const nlohmann::json& d, const char* key) {
  if (!d.is_object()) return {};
  auto it = d.find(key);
  return it != d.end() && it->is_string() ? QString::fromStdString(it->get<std::string>()) : QString();
}
inline qint64 JInt(const nlohmann::json& d, const char* key) {
  if (!d.is_object()) return 0;
  auto it = d.find(key);
  return it != d.end() && it->is_number_integer() ? it->get<qint64>() : 0;
}
inline double JNum(const nlohmann::json& d, const char* key, double fallback) {
  if (!d.is_object()) return fallback;
  auto it = d.find(key);
  return it != d.end() && it->is_number() ? it->get<double>() : fallback;
}
inline bool JBool(const nlohmann::json& d, const char* key) {
  if (!d.is_object()) return false;
  auto it = d.find(key);
  return it != d.end() && it->is_boolean() && it->get<bool>();
}

}  // namespace llmdesk::gui
