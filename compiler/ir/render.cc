#include "ir/render.h"

#include <cstdio>

namespace fspol::ir {

namespace {

std::string interval_text(Interval i) {
  return i.lo == i.hi ? std::to_string(i.lo) : std::to_string(i.lo) + ".." + std::to_string(i.hi);
}

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

std::string id_text(const IdRewrite& r) {
  switch (r.kind) {
    case IdRewrite::Kind::kSet:
      return "= " + std::to_string(r.value);
    case IdRewrite::Kind::kOffset:
      return (r.offset < 0 ? "-= " : "+= ") + std::to_string(r.offset < 0 ? -r.offset : r.offset);
    case IdRewrite::Kind::kMap: {
      std::string out = "map {";
      for (size_t i = 0; i < r.mappings.size(); ++i) {
        const auto& m = r.mappings[i];
        out += (i ? ", " : " ") + interval_text(m.from) + " -> " + interval_text(m.to);
      }
      return out + " }";
    }
  }
  return "";
}

}  // namespace

std::string attr_field_text(const AttrRewrite& a, AttrField field) {
  if (!sets(a, field)) return "";
  std::string name(attr_field_name(field));
  switch (field) {
    case AttrField::kMode: {
      char buf[64];
      std::snprintf(buf, sizeof buf, "mode & 0%03o | 0%03o", a.mode->and_mask, a.mode->or_mask);
      return buf;
    }
    case AttrField::kUid: return name + " " + id_text(*a.uid);
    case AttrField::kGid: return name + " " + id_text(*a.gid);
    case AttrField::kAtime: return name + " = " + std::to_string(*a.atime);
    case AttrField::kMtime: return name + " = " + std::to_string(*a.mtime);
    case AttrField::kCtime: return name + " = " + std::to_string(*a.ctime);
  }
  return "";
}

std::string attr_text(const AttrRewrite& a) {
  std::string out;
  for (size_t f = 0; f < kAttrFieldCount; ++f) {
    std::string part = attr_field_text(a, static_cast<AttrField>(f));
    if (!part.empty()) out += (out.empty() ? "" : ", ") + part;
  }
  return out;
}

std::string condition_text(const Condition& c) {
  using K = Condition::Kind;
  auto set = [](const std::vector<Interval>& ids) {
    if (ids.size() == 1) return interval_text(ids[0]);
    std::string out = "{";
    for (size_t i = 0; i < ids.size(); ++i) out += (i ? ", " : "") + interval_text(ids[i]);
    return out + "}";
  };
  auto operand = [](const Condition& o) {
    bool compound = o.kind == K::kAnd || o.kind == K::kOr;
    return compound ? "(" + condition_text(o) + ")" : condition_text(o);
  };
  switch (c.kind) {
    case K::kTrue: return "true";
    case K::kFalse: return "false";
    case K::kNot: {
      const Condition& o = c.operands.front();
      bool point = (o.kind == K::kUidIn || o.kind == K::kGidIn) && o.ids.size() == 1 &&
                   o.ids[0].lo == o.ids[0].hi;
      if (point) return (o.kind == K::kUidIn ? "uid != " : "gid != ") + std::to_string(o.ids[0].lo);
      if (o.kind == K::kCommIn && o.names.size() == 1) return "comm != " + quoted(o.names[0]);
      return "not " + operand(o);
    }
    case K::kAnd:
    case K::kOr: {
      std::string out;
      for (size_t i = 0; i < c.operands.size(); ++i) {
        out += (i ? (c.kind == K::kAnd ? " and " : " or ") : "") + operand(c.operands[i]);
      }
      return out;
    }
    case K::kUidIn:
    case K::kGidIn: {
      std::string field = c.kind == K::kUidIn ? "uid" : "gid";
      if (c.ids.size() == 1 && c.ids[0].lo == c.ids[0].hi) {
        return field + " == " + std::to_string(c.ids[0].lo);
      }
      return field + " in " + set(c.ids);
    }
    case K::kCommIn: {
      if (c.names.size() == 1) return "comm == " + quoted(c.names[0]);
      std::string out = "comm in {";
      for (size_t i = 0; i < c.names.size(); ++i) out += (i ? ", " : "") + quoted(c.names[i]);
      return out + "}";
    }
  }
  return "";
}

}  // namespace fspol::ir
