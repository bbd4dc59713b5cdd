#include "sema/resolve.h"

#include <sys/stat.h>

#include <climits>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>

namespace fspol::sema {

namespace {

namespace fs = std::filesystem;

// The unit index of an import that failed (already reported).
constexpr size_t kBroken = SIZE_MAX;

// One loaded file (the policy or a module) and its scope.
struct Unit {
  FileId file = 0;
  const syntax::File* ast = nullptr;
  fs::path dir;  // relative imports start here
  std::map<std::string, size_t> aliases;              // import alias -> unit
  std::map<std::string, SourceRange> alias_ranges;
  std::map<std::string, const syntax::LetDecl*> lets;
  std::map<std::string, std::vector<Selector>> expanded;  // memo
  std::set<std::string> expanding;                        // let cycle detection
  std::set<std::string> used_lets;
  bool rules_done = false;
  bool rules_expanding = false;
  std::vector<Rule> rules;
};

class Resolver {
 public:
  Resolver(const syntax::ParsedFile& root, SemaContext& ctx) : root_(root), ctx_(ctx) {}

  std::optional<Program> run() {
    uint32_t errors = ctx_.diags.error_count();
    program_.file = root_.ast.file;
    program_.name = root_.ast.name.name;
    program_.is_policy = root_.ast.kind == syntax::File::Kind::kPolicy;
    program_.files.push_back(root_.ast.file);
    const SourceFile& source = ctx_.sources.file(root_.ast.file);
    fs::path root_dir = source.path() == "<stdin>" ? fs::path(".")
                                                   : fs::path(source.path()).parent_path();
    size_t root = add_unit(root_.ast.file, &root_.ast, root_dir);
    std::string key = canonical(source.path());
    if (!key.empty()) by_path_[key] = root;
    stack_.push_back(root);
    load_imports(root);
    stack_.pop_back();
    for (size_t u = 0; u < units_.size(); ++u) collect_lets(u);
    collect_settings();
    program_.rules = expand_rules(root);
    warn_unused_lets(root);
    if (ctx_.diags.error_count() != errors) return std::nullopt;
    return std::move(program_);
  }

 private:
  size_t add_unit(FileId file, const syntax::File* ast, fs::path dir) {
    auto unit = std::make_unique<Unit>();
    unit->file = file;
    unit->ast = ast;
    unit->dir = std::move(dir);
    units_.push_back(std::move(unit));
    return units_.size() - 1;
  }

  static std::string canonical(const std::string& path) {
    char resolved[PATH_MAX];
    if (::realpath(path.c_str(), resolved) == nullptr) return "";
    return resolved;
  }

  // ---- Imports ---------------------------------------------------------------

  // Where `import` finds its file, or "" (after reporting) when nowhere.
  // `shown` gets the name to show for it: a stdlib module is shown as
  // "<stdlib>/NAME.fspol", so output does not depend on where fsc lives.
  std::string find_module(const Unit& unit, const syntax::ImportDecl& import, std::string& shown) {
    shown.clear();
    if (const auto* path = std::get_if<syntax::StringLit>(&import.target)) {
      fs::path p = fs::path(path->value);
      if (p.is_relative()) p = unit.dir / p;
      struct stat st {};
      if (::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode)) return p.string();
      ctx_.diags.error(path->range, "cannot find module file '" + p.string() + "'");
      return "";
    }
    const auto& name = std::get<syntax::QualifiedName>(import.target);
    fs::path relative;
    for (const syntax::Ident& part : name.parts) relative /= part.name;
    relative += ".fspol";
    for (size_t i = 0; i < ctx_.import_dirs.size(); ++i) {
      fs::path p = fs::path(ctx_.import_dirs[i]) / relative;
      struct stat st {};
      if (::stat(p.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
      if (i + 1 == ctx_.import_dirs.size() && ctx_.last_dir_is_stdlib) {
        shown = "<stdlib>/" + relative.string();
      }
      return p.string();
    }
    auto& d = ctx_.diags.error(name.range, "module '" + name.str() + "' not found");
    std::string searched;
    for (const std::string& dir : ctx_.import_dirs) {
      searched += (searched.empty() ? "" : ", ") + dir;
    }
    d.note(name.range, "looked for '" + relative.string() + "' in " +
                           (searched.empty() ? "no directories" : searched) +
                           "; add a directory with -I");
    return "";
  }

  // The name an import is known by when the module could not be loaded:
  // its `as`, else the last part of its name or its file's stem.
  static std::string fallback_alias(const syntax::ImportDecl& import) {
    if (import.alias) return import.alias->name;
    if (const auto* name = std::get_if<syntax::QualifiedName>(&import.target)) {
      return name->parts.back().name;
    }
    return fs::path(std::get<syntax::StringLit>(import.target).value).stem().string();
  }

  // A failed import still defines its name, so that uses of it do not
  // produce a second error for the same mistake.
  void add_broken_alias(size_t u, const syntax::ImportDecl& import) {
    units_[u]->aliases.emplace(fallback_alias(import), kBroken);
  }

  void load_imports(size_t u) {
    // Copy what we need: units_ may grow (and move) while we recurse.
    const syntax::File* ast = units_[u]->ast;
    for (const syntax::ImportDecl& import : ast->imports) {
      std::string shown;
      std::string path = find_module(*units_[u], import, shown);
      if (path.empty()) {
        add_broken_alias(u, import);
        continue;
      }
      std::string key = canonical(path);
      auto found = by_path_.find(key);
      size_t target;
      if (found != by_path_.end()) {
        target = found->second;
        for (size_t on_stack : stack_) {
          if (on_stack != target) continue;
          std::string chain;
          bool in_cycle = false;
          for (size_t s : stack_) {
            in_cycle = in_cycle || s == target;
            if (in_cycle) chain += ctx_.sources.file(units_[s]->file).path() + " -> ";
          }
          chain += ctx_.sources.file(units_[target]->file).path();
          ctx_.diags.error(import.range, "import cycle: " + chain);
          target = kBroken;
          break;
        }
        if (target == kBroken) {
          add_broken_alias(u, import);
          continue;
        }
      } else {
        auto loaded = ctx_.sources.load(path, shown);
        if (!loaded) {
          ctx_.diags.error(import.range, loaded.error().message);
          add_broken_alias(u, import);
          continue;
        }
        auto parsed = std::make_unique<syntax::ParsedFile>(
            syntax::run_parser(*loaded, ctx_.sources.file(*loaded), ctx_.diags));
        program_.files.push_back(*loaded);
        if (parsed->ast.kind != syntax::File::Kind::kModule) {
          ctx_.diags.error(import.range, "'" + path + "' is a policy, not a module")
              .note(parsed->ast.header, "declared here");
          add_broken_alias(u, import);
          continue;
        }
        if (const auto* name = std::get_if<syntax::QualifiedName>(&import.target)) {
          if (parsed->ast.name.name != name->parts.back().name) {
            ctx_.diags
                .error(parsed->ast.name.range, "module file '" + path + "' declares module '" +
                                                   parsed->ast.name.name + "', not '" +
                                                   name->parts.back().name + "'")
                .note(import.range, "imported here");
          }
        }
        target = add_unit(*loaded, &parsed->ast, fs::path(path).parent_path());
        program_.modules.push_back(std::move(parsed));
        by_path_[key] = target;
        stack_.push_back(target);
        load_imports(target);
        stack_.pop_back();
      }
      std::string alias = import.alias ? import.alias->name : units_[target]->ast->name.name;
      SourceRange where = import.alias ? import.alias->range : import.range;
      Unit& unit = *units_[u];
      auto [it, inserted] = unit.aliases.emplace(alias, target);
      if (!inserted) {
        ctx_.diags.error(where, "a module named '" + alias + "' is already imported")
            .note(unit.alias_ranges[alias], "imported here; use 'as' to give one another name");
        continue;
      }
      unit.alias_ranges[alias] = where;
    }
  }

  // ---- Lets ------------------------------------------------------------------------

  void collect_lets(size_t u) {
    Unit& unit = *units_[u];
    for (const syntax::Item& item : unit.ast->items) {
      const auto* let = std::get_if<syntax::LetDecl>(&item);
      if (!let) continue;
      auto [it, inserted] = unit.lets.emplace(let->name.name, let);
      if (!inserted) {
        ctx_.diags.error(let->name.range, "'" + let->name.name + "' is already defined")
            .note(it->second->name.range, "first defined here");
      }
    }
  }

  // The selectors a reference names, or nullptr after reporting.
  const std::vector<Selector>* lookup_let(size_t u, const syntax::QualifiedName& name) {
    size_t scope = u;
    std::string let_name = name.parts.back().name;
    if (name.parts.size() > 2) {
      ctx_.diags.error(name.range, "'" + name.str() + "' is not a pattern name; write NAME or "
                                   "MODULE.NAME");
      return nullptr;
    }
    if (name.parts.size() == 2) {
      const Unit& unit = *units_[u];
      auto it = unit.aliases.find(name.parts[0].name);
      if (it == unit.aliases.end()) {
        auto& d = ctx_.diags.error(name.parts[0].range,
                                   "no imported module named '" + name.parts[0].name + "'");
        std::vector<std::string_view> aliases;
        for (const auto& [alias, target] : unit.aliases) aliases.push_back(alias);
        std::string best = closest_match(name.parts[0].name, aliases);
        if (!best.empty()) d.note(name.parts[0].range, "did you mean '" + best + "'?");
        return nullptr;
      }
      scope = it->second;
      if (scope == kBroken) return nullptr;  // the import was reported
    }
    return expand_let(scope, let_name, name.parts.back().range);
  }

  const std::vector<Selector>* expand_let(size_t u, const std::string& name, SourceRange where) {
    Unit& unit = *units_[u];
    auto memo = unit.expanded.find(name);
    if (memo != unit.expanded.end()) {
      unit.used_lets.insert(name);
      return &memo->second;
    }
    auto it = unit.lets.find(name);
    if (it == unit.lets.end()) {
      std::string in = u == 0 ? "" : " in module '" + unit.ast->name.name + "'";
      auto& d = ctx_.diags.error(where, "unknown pattern '" + name + "'" + in);
      std::vector<std::string_view> names;
      for (const auto& [let, decl] : unit.lets) names.push_back(let);
      std::string best = closest_match(name, names);
      if (!best.empty()) d.note(where, "did you mean '" + best + "'?");
      return nullptr;
    }
    if (unit.expanding.count(name)) {
      ctx_.diags.error(where, "pattern '" + name + "' refers to itself")
          .note(it->second->name.range, "defined here");
      return nullptr;
    }
    unit.used_lets.insert(name);
    unit.expanding.insert(name);
    std::vector<Selector> out;
    bool ok = expand_selectors(u, it->second->selectors, out);
    unit.expanding.erase(name);
    if (!ok) return nullptr;
    return &(unit.expanded[name] = std::move(out));
  }

  bool expand_selectors(size_t u, const std::vector<syntax::Selector>& in,
                        std::vector<Selector>& out) {
    bool ok = true;
    for (const syntax::Selector& s : in) {
      if (const auto* pattern = std::get_if<syntax::StringLit>(&s.target)) {
        Diagnostics quiet;  // the parser has already checked the glob
        auto glob = syntax::parse_glob(*pattern, quiet);
        if (!glob) {
          ok = false;
          continue;
        }
        out.push_back(Selector{std::move(*glob), s.types, pattern->raw, pattern->range});
        continue;
      }
      const auto& name = std::get<syntax::QualifiedName>(s.target);
      const std::vector<Selector>* named = lookup_let(u, name);
      if (!named) {
        ok = false;
        continue;
      }
      // A type filter on a reference narrows each selector it names and
      // drops those of other types; dropping all of them is a mistake.
      size_t kept = 0;
      for (const Selector& n : *named) {
        Selector copy = n;
        if (s.types) {
          copy.types = n.types ? (n.types & s.types) : s.types;
          if (copy.types == 0) continue;
        }
        out.push_back(std::move(copy));
        ++kept;
      }
      if (kept == 0 && !named->empty()) {
        ctx_.diags.error(s.range, "type filter '" + syntax::file_types_text(s.types) +
                                      "' excludes every path of '" + name.str() + "'")
            .note(named->front().range, "it matches only " + syntax::file_types_text(named->front().types));
        ok = false;
      }
    }
    return ok;
  }

  void warn_unused_lets(size_t u) {
    const Unit& unit = *units_[u];
    for (const auto& [name, let] : unit.lets) {
      if (unit.used_lets.count(name)) continue;
      // Only the checked file: a module's patterns exist for importers.
      if (unit.ast->kind == syntax::File::Kind::kModule) continue;
      ctx_.diags.warning("unused-let", let->name.range, "pattern '" + name + "' is never used");
    }
  }

  // ---- Rules ---------------------------------------------------------------------

  std::vector<Rule> expand_rules(size_t u) {
    Unit& unit = *units_[u];
    if (unit.rules_done) return unit.rules;
    unit.rules_expanding = true;
    std::vector<Rule> out;
    for (const syntax::Item& item : unit.ast->items) {
      if (const auto* rule = std::get_if<syntax::Rule>(&item)) {
        Rule r;
        r.kind = rule->kind;
        r.ast = rule;
        if (expand_selectors(u, rule->selectors, r.selectors)) out.push_back(std::move(r));
        continue;
      }
      const auto* use = std::get_if<syntax::UseDecl>(&item);
      if (!use) continue;
      std::string alias = use->module.str();
      auto it = unit.aliases.find(alias);
      if (it == unit.aliases.end()) {
        auto& d = ctx_.diags.error(use->module.range, "no imported module named '" + alias + "'");
        std::vector<std::string_view> aliases;
        for (const auto& [a, target] : unit.aliases) aliases.push_back(a);
        std::string best = closest_match(alias, aliases);
        if (!best.empty()) d.note(use->module.range, "did you mean '" + best + "'?");
        continue;
      }
      size_t target = it->second;
      if (target == kBroken) continue;  // the import was reported
      auto first = first_use_.find(target);
      if (first != first_use_.end()) {
        ctx_.diags
            .warning("duplicate-use", use->range,
                     "module '" + alias + "' is already used; its rules apply once, at the first use")
            .note(first->second, "first used here");
        continue;
      }
      first_use_[target] = use->range;
      if (units_[target]->rules_expanding) continue;  // impossible without an import cycle
      for (Rule r : expand_rules(target)) {
        r.via.insert(r.via.begin(), use->range);
        out.push_back(std::move(r));
      }
    }
    unit.rules_expanding = false;
    unit.rules_done = true;
    unit.rules = out;
    return out;
  }

  void collect_settings() {
    program_.lowers.push_back(Lower{"main", "", root_.ast.name.range});
    std::map<std::string, SourceRange> seen_options;
    for (const syntax::Item& item : root_.ast.items) {
      if (const auto* lower = std::get_if<syntax::LowerDecl>(&item)) {
        bool duplicate = false;
        for (const Lower& l : program_.lowers) {
          if (l.name != lower->name.name) continue;
          duplicate = true;
          auto& d = ctx_.diags.error(lower->name.range,
                                     "lower root '" + lower->name.name + "' is already declared");
          if (l.name == "main") {
            d.note(lower->name.range, "'main' is the lower directory given at mount time");
          } else {
            d.note(l.range, "declared here");
          }
        }
        if (lower->path.value.empty() || lower->path.value[0] != '/') {
          // Relative to what? Not the daemon's working directory ("/"),
          // not the policy file's: the mount names its roots.
          ctx_.diags.error(lower->path.range, "a lower root's path must be absolute")
              .note(lower->path.range, "fsrun mount -o lower." + lower->name.name +
                                           "=PATH sets it for one mount");
        }
        if (!duplicate) {
          program_.lowers.push_back(Lower{lower->name.name, lower->path.value, lower->name.range});
        }
      } else if (const auto* option = std::get_if<syntax::OptionDecl>(&item)) {
        auto [it, inserted] = seen_options.emplace(option->name.name, option->name.range);
        if (!inserted) {
          ctx_.diags.error(option->name.range, "option '" + option->name.name + "' is set twice")
              .note(it->second, "first set here");
          continue;
        }
        program_.options.push_back(Option{option->option, option->value});
      }
    }
  }

  const syntax::ParsedFile& root_;
  SemaContext& ctx_;
  Program program_;
  std::vector<std::unique_ptr<Unit>> units_;
  std::map<std::string, size_t> by_path_;
  std::vector<size_t> stack_;
  std::map<size_t, SourceRange> first_use_;
};

}  // namespace

std::optional<Program> run_resolve(const syntax::ParsedFile& root, SemaContext& ctx) {
  return Resolver(root, ctx).run();
}

}  // namespace fspol::sema
