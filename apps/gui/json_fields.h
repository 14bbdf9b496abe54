// apps/gui/json_fields.h — reading fields of JSON that came over a socket as Qt types: a missing field or one of
// another type gives the fallback, never an exception (common/json_read.h does the reading).
#pragma once

#include <QString>

#include <nlohmann/json.hpp>

#include "common/json_read.h"

namespace llmdesk::gui {

inline QString JStr(const nlohmann::json& d, const char* key) { return QString::fromStdString(JsonString(d, key)); }
inline qint64 JInt(const nlohmann::json& d, const char* key) { return JsonInt(d, key); }
inline double JNum(const nlohmann::json& d, const char* key, double fallback) { return JsonNumber(d, key, fallback); }
inline bool JBool(const nlohmann::json& d, const char* key) { return JsonBool(d, key); }

}  // namespace llmdesk::gui
