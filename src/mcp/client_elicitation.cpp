// AcceptElicitationWithDefaults (contract in client.h): what a client that cannot ask a person answers to
// elicitation/create — the schema's own defaults (SEP-1034), or a decline when they do not make a full answer.
#include <algorithm>
#include <cmath>

#include "mcp/client.h"

namespace llmdesk::mcp {
namespace {

using json = nlohmann::json;

const json* Member(const json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

std::string StringMember(const json& object, const char* key) {
  const json* v = Member(object, key);
  return v && v->is_string() ? v->get<std::string>() : "";
}

bool InEnum(const json& property, const json& value) {
  const json* options = Member(property, "enum");
  if (!options || !options->is_array()) {
    // 2025-11-25 titled enums: oneOf [{const, title}]
    const json* one_of = Member(property, "oneOf");
    if (!one_of || !one_of->is_array()) return true;  // not an enum: any string is fine
    return std::any_of(one_of->begin(), one_of->end(), [&](const json& o) {
      const json* c = Member(o, "const");
      return c && *c == value;
    });
  }
  return std::find(options->begin(), options->end(), value) != options->end();
}

// The property's default when it fits the property's declared type (a default of the wrong type is no
// default: answering it would hand the server a value its own schema rejects).
const json* UsableDefault(const json& property) {
  const json* d = Member(property, "default");
  if (!d) return nullptr;
  const std::string type = StringMember(property, "type");
  if (type == "string") return d->is_string() && InEnum(property, *d) ? d : nullptr;
  if (type == "number") return d->is_number() ? d : nullptr;
  if (type == "integer")
    return d->is_number_integer() || (d->is_number_float() && std::trunc(d->get<double>()) == d->get<double>())
               ? d : nullptr;
  if (type == "boolean") return d->is_boolean() ? d : nullptr;
  if (type == "array") {  // multi-select enum: an array of the allowed strings
    if (!d->is_array()) return nullptr;
    const json* items = Member(property, "items");
    for (const auto& v : *d)
      if (!v.is_string() || (items && !InEnum(*items, v))) return nullptr;
    return d;
  }
  return nullptr;
}

}  // namespace

json AcceptElicitationWithDefaults(const json& params) {
  const json decline = {{"action", "decline"}};
  const std::string mode = StringMember(params, "mode");
  if (!mode.empty() && mode != "form") return decline;  // a URL elicitation needs a person
  const json* schema = Member(params, "requestedSchema");
  const json* properties = schema ? Member(*schema, "properties") : nullptr;
  if (!properties || !properties->is_object()) return decline;
  json content = json::object();
  for (const auto& [name, property] : properties->items())
    if (const json* d = UsableDefault(property)) content[name] = *d;
  if (const json* required = Member(*schema, "required"); required && required->is_array())
    for (const auto& name : *required)
      if (!name.is_string() || !content.contains(name.get<std::string>())) return decline;
  return {{"action", "accept"}, {"content", std::move(content)}};
}

}  // namespace llmdesk::mcp
