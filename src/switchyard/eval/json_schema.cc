#include "switchyard/eval/json_schema.h"

#include <re2/re2.h>

#include <boost/json.hpp>

#include <cmath>

namespace switchyard::eval {

namespace json = boost::json;

namespace {

std::string typeOf(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null: return "null";
    case json::kind::bool_: return "boolean";
    case json::kind::int64:
    case json::kind::uint64: return "integer";
    case json::kind::double_: {
      const double d = v.as_double();
      return std::floor(d) == d && std::isfinite(d) ? "integer" : "number";
    }
    case json::kind::string: return "string";
    case json::kind::array: return "array";
    case json::kind::object: return "object";
  }
  return "unknown";
}

bool typeMatches(const std::string& want, const json::value& v) {
  const std::string got = typeOf(v);
  return want == got || (want == "number" && got == "integer");
}

double num(const json::value& v) { return v.is_number() ? v.to_number<double>() : 0; }

bool equalJson(const json::value& a, const json::value& b) {
  if (a.is_number() && b.is_number()) return num(a) == num(b);
  return a == b;
}

std::string check(const json::value& schema, const json::value& v, const std::string& path) {
  if (schema.is_bool()) return schema.as_bool() ? "" : path + ": not allowed";
  if (!schema.is_object()) return "";
  const auto& s = schema.as_object();

  if (auto* t = s.if_contains("type")) {
    bool ok = false;
    std::string names;
    if (t->is_string()) {
      ok = typeMatches(std::string(t->as_string()), v);
      names = std::string(t->as_string());
    } else if (t->is_array()) {
      for (const auto& x : t->as_array()) {
        if (!x.is_string()) continue;
        ok = ok || typeMatches(std::string(x.as_string()), v);
        names += (names.empty() ? "" : " or ") + std::string(x.as_string());
      }
    }
    if (!ok) return path + ": expected " + names + ", got " + typeOf(v);
  }
  if (auto* e = s.if_contains("enum"); e && e->is_array()) {
    bool ok = false;
    for (const auto& x : e->as_array()) ok = ok || equalJson(x, v);
    if (!ok) return path + ": " + json::serialize(v) + " is not one of " + json::serialize(*e);
  }
  if (auto* c = s.if_contains("const"); c && !equalJson(*c, v)) {
    return path + ": expected " + json::serialize(*c);
  }
  if (v.is_number()) {
    const double d = num(v);
    if (auto* m = s.if_contains("minimum"); m && m->is_number() && d < num(*m)) {
      return path + ": " + json::serialize(v) + " is less than the minimum " + json::serialize(*m);
    }
    if (auto* m = s.if_contains("maximum"); m && m->is_number() && d > num(*m)) {
      return path + ": " + json::serialize(v) + " is more than the maximum " + json::serialize(*m);
    }
    if (auto* m = s.if_contains("exclusiveMinimum"); m && m->is_number() && d <= num(*m)) {
      return path + ": must be more than " + json::serialize(*m);
    }
    if (auto* m = s.if_contains("exclusiveMaximum"); m && m->is_number() && d >= num(*m)) {
      return path + ": must be less than " + json::serialize(*m);
    }
  }
  if (v.is_string()) {
    const auto& str = v.as_string();
    // Length in code points, as JSON Schema counts it.
    std::size_t len = 0;
    for (unsigned char ch : str) len += (ch & 0xC0) != 0x80;
    if (auto* m = s.if_contains("minLength"); m && m->is_number() && len < num(*m)) {
      return path + ": shorter than " + json::serialize(*m);
    }
    if (auto* m = s.if_contains("maxLength"); m && m->is_number() && len > num(*m)) {
      return path + ": longer than " + json::serialize(*m);
    }
    if (auto* p = s.if_contains("pattern"); p && p->is_string()) {
      RE2 re(std::string(p->as_string()), RE2::Quiet);
      if (re.ok() && !RE2::PartialMatch(std::string(str), re)) {
        return path + ": does not match " + json::serialize(*p);
      }
    }
  }
  if (v.is_array()) {
    const auto& a = v.as_array();
    if (auto* m = s.if_contains("minItems"); m && m->is_number() && a.size() < num(*m)) {
      return path + ": fewer than " + json::serialize(*m) + " items";
    }
    if (auto* m = s.if_contains("maxItems"); m && m->is_number() && a.size() > num(*m)) {
      return path + ": more than " + json::serialize(*m) + " items";
    }
    if (auto* items = s.if_contains("items")) {
      for (std::size_t i = 0; i < a.size(); ++i) {
        auto err = check(*items, a[i], path + "[" + std::to_string(i) + "]");
        if (!err.empty()) return err;
      }
    }
  }
  if (v.is_object()) {
    const auto& o = v.as_object();
    if (auto* r = s.if_contains("required"); r && r->is_array()) {
      for (const auto& name : r->as_array()) {
        if (name.is_string() && !o.contains(name.as_string())) {
          return path + ": missing required property '" + std::string(name.as_string()) + "'";
        }
      }
    }
    const json::object* props = nullptr;
    if (auto* p = s.if_contains("properties"); p && p->is_object()) props = &p->as_object();
    const json::value* additional = s.if_contains("additionalProperties");
    for (const auto& kv : o) {
      const std::string child = path + "." + std::string(kv.key());
      if (props != nullptr) {
        if (auto* ps = props->if_contains(kv.key())) {
          auto err = check(*ps, kv.value(), child);
          if (!err.empty()) return err;
          continue;
        }
      }
      if (additional != nullptr) {
        if (additional->is_bool() && !additional->as_bool()) {
          return path + ": unexpected property '" + std::string(kv.key()) + "'";
        }
        auto err = check(*additional, kv.value(), child);
        if (!err.empty()) return err;
      }
    }
  }
  if (auto* all = s.if_contains("allOf"); all && all->is_array()) {
    for (const auto& sub : all->as_array()) {
      auto err = check(sub, v, path);
      if (!err.empty()) return err;
    }
  }
  if (auto* any = s.if_contains("anyOf"); any && any->is_array()) {
    std::string first;
    bool ok = false;
    for (const auto& sub : any->as_array()) {
      auto err = check(sub, v, path);
      if (err.empty()) {
        ok = true;
        break;
      }
      if (first.empty()) first = err;
    }
    if (!ok) return path + ": matches none of anyOf (" + first + ")";
  }
  if (auto* one = s.if_contains("oneOf"); one && one->is_array()) {
    int matches = 0;
    for (const auto& sub : one->as_array()) matches += check(sub, v, path).empty();
    if (matches != 1) {
      return path + ": matches " + std::to_string(matches) + " of oneOf (expected exactly 1)";
    }
  }
  return "";
}

}  // namespace

std::string validateJsonSchema(const json::value& schema, const json::value& instance) {
  return check(schema, instance, "$");
}

}  // namespace switchyard::eval
