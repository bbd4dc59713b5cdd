// The BPF C of a planned policy (bpf_c.h).
#include "codegen/bpf_c.h"

#include <linux/fuse.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>

#include "codegen/code_writer.h"
#include "codegen/decision_program.h"
#include "fspol/version.h"
#include "ir/render.h"

namespace fspol::codegen {

// The headers, as text embedded at build time (bpf_headers.cc).
extern const char kFuseBpfAbiH[];
extern const char kFuseBpfOpsDef[];
extern const char kFspHarnessH[];
extern const char kFspMachineH[];

namespace {

using plan::Callback;
using plan::Chain;
using plan::Decision;
using plan::Filter;
using plan::ProgramSet;
using plan::Where;

// The prefilter and postfilter parameters of each callback (fuse_bpf_ops.def).
struct CallbackText {
  std::string_view pre;
  std::string_view post;
};
constexpr CallbackText kParams[] = {
#define FUSE_BPF_OP(name, opcode, pre, post) {#pre, #post},
#include "fuse_bpf_ops.def"
};

// The argument field a callback's atoms are decoded from (arg_atoms.def).
struct ArgRow {
  uint32_t opcode;
  std::string_view field;
  std::string_view predicate;
};
constexpr ArgRow kArgRows[] = {
#define FSPOL_ARG_ATOM(opcode, type, field, atom, predicate) {opcode, #field, #predicate},
#include "ir/arg_atoms.def"
};

std::string_view arg_field(uint32_t opcode) {
  for (const ArgRow& r : kArgRows) {
    if (r.opcode == opcode) return r.field;
  }
  return {};
}

bool reads_name(Callback cb) {
  switch (cb) {
    case Callback::lookup:
    case Callback::create_open:
    case Callback::mknod:
    case Callback::mkdir:
    case Callback::symlink:
    case Callback::unlink:
    case Callback::rmdir:
      return true;
    default:
      return false;
  }
}

std::string unparen(std::string_view params) {
  return std::string(params.substr(1, params.size() - 2));
}

std::string result_text(int result) {
  switch (result) {
    case plan::kContinue: return "BPF_FUSE_CONTINUE";
    case plan::kUser: return "BPF_FUSE_USER";
    case plan::kUserPrefilter: return "BPF_FUSE_USER_PREFILTER";
    case plan::kPostfilter: return "BPF_FUSE_POSTFILTER";
    case plan::kUserPostfilter: return "BPF_FUSE_USER_POSTFILTER";
  }
  std::abort();
}

std::string fn_name(Callback cb, bool post) {
  return "fsp_" + std::string(plan::callback_name(cb)) + (post ? "_post" : "_pre");
}

// program(): the one program of a callback for every node state
// (profile node_states).
constexpr uint32_t kEverySet = UINT32_MAX;

std::string prog_name(uint32_t set, Callback cb, bool post) {
  return (set == kEverySet ? "every" : "s" + std::to_string(set)) + "_" +
         std::string(plan::callback_name(cb)) + (post ? "_post" : "_pre");
}

class Emitter {
 public:
  Emitter(const ir::Policy& policy, const plan::Plan& plan, const DecisionProgram& decisions)
      : p_(policy), plan_(plan), prog_(decisions) {
    for (const ProgramSet& set : plan.sets) {
      for (const plan::Filters& fs : set.filters) {
        for (const Filter* f : {&fs.pre, &fs.post}) collect(*f);
      }
    }
    // Sets whose filter for a callback is the same share its program.
    for (size_t i = 0; i < plan::kCallbackCount * 2; ++i) {
      std::map<std::string, uint32_t> first;
      rep_[i].resize(plan.sets.size());
      for (uint32_t s = 0; s < plan.sets.size(); ++s) {
        std::string key = filter_key(plan.sets[s], static_cast<Callback>(i / 2), i % 2 == 1);
        rep_[i][s] = first.emplace(key, s).first->second;
      }
    }
  }

  void shared(CodeWriter& w) {
    tables(w);
    walk(w);
    names(w);
    machine(w);
  }

  void struct_ops(CodeWriter& w) {
    if (states_) {
      one_set(w);
      return;
    }
    for (uint32_t s = 0; s < plan_.sets.size(); ++s) {
      const ProgramSet& set = plan_.sets[s];
      if (set.passthrough) continue;
      w.line("/* ---- set " + std::to_string(s) + " " + set.name + ": " + set_text(set) +
             " ---- */");
      w.blank();
      std::vector<std::string> members;
      for (size_t i = 0; i < plan::kCallbackCount; ++i) {
        auto cb = static_cast<Callback>(i);
        for (bool post : {false, true}) {
          const Filter& f = post ? set.filters[i].post : set.filters[i].pre;
          if (!has_program(f, post)) continue;
          uint32_t rep = rep_[i * 2 + post][s];
          if (rep == s) program(w, s, cb, post);
          members.push_back("." + std::string(plan::callback_name(cb)) +
                            (post ? "_postfilter" : "_prefilter") + " = (void *)" +
                            prog_name(rep, cb, post) + ",");
        }
      }
      w.line("SEC(\".struct_ops\")");
      w.open("struct fuse_ops fsp_set_" + std::to_string(s) + " = {");
      for (const std::string& m : members) w.line(m);
      w.line(".name = " + c_string(set.name) + ",");
      w.close("};");
      w.blank();
    }
  }

  // Profile node_states: one program per filter, for every node state;
  // the node's state (meta->state, the set's index) picks the decisions.
  void one_set(CodeWriter& w) {
    std::vector<std::string> members;
    for (size_t i = 0; i < plan::kCallbackCount; ++i) {
      auto cb = static_cast<Callback>(i);
      for (bool post : {false, true}) {
        bool any = false;
        for (const ProgramSet& set : plan_.sets) {
          const Filter& f = post ? set.filters[i].post : set.filters[i].pre;
          any = any || (!set.passthrough && has_program(f, post));
        }
        if (!any) continue;
        program(w, kEverySet, cb, post);
        members.push_back("." + std::string(plan::callback_name(cb)) +
                          (post ? "_postfilter" : "_prefilter") + " = (void *)" +
                          prog_name(kEverySet, cb, post) + ",");
      }
    }
    if (members.empty()) return;
    w.line("/* ---- the program set of every node state: " + plan_.sets[0].name + " ---- */");
    w.blank();
    w.line("SEC(\".struct_ops\")");
    w.open("struct fuse_ops fsp_set_0 = {");
    for (const std::string& m : members) w.line(m);
    w.line(".name = " + c_string(plan_.sets[0].name) + ",");
    w.close("};");
    w.blank();
  }

  void name_glue(CodeWriter& w) const {
    bool walks = false;
    for (size_t i = 0; i < plan::kCallbackCount; ++i) {
      for (bool post : {false, true}) {
        walks = walks || (reads_name(static_cast<Callback>(i)) &&
                          emitted_.count(fn_name(static_cast<Callback>(i), post)));
      }
    }
    if (walks) {
      static constexpr std::string_view kClass[] = {
          "/*",
          " * The class of the name a request carries, for a directory of class",
          " * `cls` (-1: a name the filter cannot read). The walk's buffer is in a",
          " * frame of its own, gone before the decisions run: the stacks of a",
          " * chain of calls add up.",
          " */",
          "static __noinline __s32 fsp_name_class(const struct fuse_buffer *name, __u32 cls)",
          "{",
          "\tstruct fsp_walk wk = {};",
          "\tstruct bpf_dynptr dp;",
          "",
          "\tif (fsp_read_name(name, &wk, &dp))",
          "\t\treturn -1;",
          "\treturn fsp_child_class(cls, &wk);",
          "}",
          "",
      };
      for (std::string_view l : kClass) w.line(l);
    }
    // A lookup prefilter writes the lower name over the one looked up.
    if (name_maps_.empty()) return;
    static constexpr std::string_view kWrite[] = {
        "static __always_inline int fsp_write_name(struct fuse_buffer *name,",
        "\t\t\t\t\t  const struct fsp_walk *w, struct bpf_dynptr *dp)",
        "{",
        "\t__u32 n = w->len + 1;",
        "",
        "\tbarrier_var(n);",
        "\tif (n > FSP_NAME_MAX)",
        "\t\treturn -1;",
        "\tbpf_fuse_get_rw_dynptr(name, dp, n, false);",
        "\treturn bpf_dynptr_write(dp, 0, (void *)w->name, n, 0) ? -1 : 0;",
        "}",
        "",
    };
    for (std::string_view l : kWrite) w.line(l);
  }

  // The attribute fields filters read and write, one by one: a struct
  // copy from the context may go through a pointer the verifier refuses.
  static void harness_attr(CodeWriter& w, const std::string& to, const std::string& from) {
    for (const char* f :
         {"mode", "uid", "gid", "atime", "mtime", "ctime", "atimensec", "mtimensec", "ctimensec"}) {
      w.line(to + f + " = " + from + f + ";");
    }
  }

  // Listings filtered in BPF (plan: Filter::lists): each entry of the
  // chunk READDIR read is kept when the set's lookup filters let the
  // caller find it, by name and type, as the daemon's listing filter
  // does; the kept entries move up in place. A record the filter cannot
  // read fails the chunk (EIO) rather than pass unfiltered.
  void listing(CodeWriter& w) {
    bool any = false;
    for (const ProgramSet& set : plan_.sets) {
      any = any ||
            (!set.passthrough && set.filters[static_cast<size_t>(Callback::readdir)].post.lists);
    }
    if (!any) return;
    std::string visible;
    for (bool post : {false, true}) {
      std::string fn = fn_name(Callback::lookup, post);
      if (!emitted_.count(fn)) continue;
      visible += std::string(visible.empty() ? "" : " &&\n\t\t   ") + fn +
                 "(l->set, &l->c, 0, (__u32)k, type, &child_set, 0) >= 0";
    }
    if (visible.empty()) visible = "1";
    w.line("struct fsp_listing {");
    w.line("\tstruct bpf_dynptr dp;");
    w.line("\tstruct fsp_caller c;");
    w.line("\t__u32 set;");
    w.line("\t__u32 cls;");
    w.line("\t__u32 size;\t\t/* bytes of records READDIR read */");
    w.line("\t__u32 roff;\t\t/* the next record to look at */");
    w.line("\t__u32 woff;\t\t/* where the next kept record goes */");
    w.line("\t__s32 error;");
    w.line("};");
    w.blank();
    static constexpr std::string_view kStep[] = {
        "/*",
        " * The class of the entry named at `off` (namelen bytes); -2 for . and ..",
        " * (always listed). The walk's buffer is in a frame of its own, gone",
        " * before the decisions run: the stacks of a chain of calls add up.",
        " */",
        "static __noinline __s32 fsp_entry_class(struct fsp_listing *l, __u32 off, __u32 namelen)",
        "{",
        "\tstruct fsp_walk wk = {};",
        "",
        "\tif (!l || namelen == 0 || namelen >= FSP_NAME_MAX)",
        "\t\treturn -1;",
        "\t/* lengths masked where used: 6.1 loses bounds kept on the stack */",
        "\tif (bpf_dynptr_read(wk.name, namelen & (FSP_NAME_MAX - 1), &l->dp, off, 0))",
        "\t\treturn -1;",
        "\twk.len = namelen;",
        "\tif (wk.name[0] == '.' && (namelen == 1 || (namelen == 2 && wk.name[1] == '.')))",
        "\t\treturn -2;",
        "\treturn fsp_child_class(l->cls, &wk);",
        "}",
        "",
        "static long fsp_listing_step(__u32 i, void *ctx)",
        "{",
        "\tstatic const __u8 zeros[8];",
        "\tstruct fsp_listing *l = ctx;",
        "\tstruct fuse_dirent d;",
        "\tchar part[32];\t\t/* 16 bytes moved at a time: 6.1 rounds every frame of the",
        "\t\t\t\t * chain to 32 bytes, and this one is at its 512 */",
        "\t__s32 child_set = -1;",
        "\t__u32 reclen, pad, type, at;",
        "\t__u64 n;\t\t/* 64 bits: 6.1 keeps the bounds of a full spill */",
        "\t__s32 k;",
        "",
        "\tif (l->roff >= l->size)",
        "\t\treturn 1;",
        "\tif (bpf_dynptr_read(&d, FUSE_NAME_OFFSET, &l->dp, l->roff, 0))",
        "\t\tgoto bad;",
        "\tif (d.namelen == 0 || d.namelen >= FSP_NAME_MAX)",
        "\t\tgoto bad;",
        "\treclen = (FUSE_NAME_OFFSET + d.namelen + 7) & ~7U;",
        "\tpad = reclen - FUSE_NAME_OFFSET - d.namelen;",
        "\tif (reclen > l->size - l->roff || pad > 7)",
        "\t\tgoto bad;",
        "\tk = fsp_entry_class(l, l->roff + FUSE_NAME_OFFSET, d.namelen);",
        "\tif (k == -1)",
        "\t\tgoto bad;",
        "\t/* an unknown type takes every type's hides */",
        "\tif (k >= 0) {",
        "\t\ttype = d.type ? fsp_type_of(d.type << 12) : 0x7f;",
    };
    for (std::string_view line : kStep) w.line(line);
    w.line("\t\tif (!(" + visible + ")) {");
    static constexpr std::string_view kRest[] = {
        "\t\t\tl->roff += reclen;\t/* dropped */",
        "\t\t\treturn 0;",
        "\t\t}",
        "\t}",
        "\tif (l->woff != l->roff) {",
        "\t\t/* moved left, a part at a time (the name is no longer on the stack) */",
        "\t\tif (bpf_dynptr_write(&l->dp, l->woff, &d, FUSE_NAME_OFFSET, 0))",
        "\t\t\tgoto bad;",
        "#pragma unroll",
        "\t\tfor (at = 0; at < FSP_NAME_MAX; at += 16) {",
        "\t\t\tif (at >= d.namelen)",
        "\t\t\t\tbreak;",
        "\t\t\tn = d.namelen - at;",
        "\t\t\tif (n > 16)",
        "\t\t\t\tn = 16;",
        "\t\t\tbarrier_var(n);",
        "\t\t\tif (bpf_dynptr_read(part, n & 31, &l->dp, l->roff + FUSE_NAME_OFFSET + at, 0) ||",
        "\t\t\t    bpf_dynptr_write(&l->dp, l->woff + FUSE_NAME_OFFSET + at, part, n & 31, 0))",
        "\t\t\t\tgoto bad;",
        "\t\t}",
        "\t\tif (bpf_dynptr_write(&l->dp, l->woff + FUSE_NAME_OFFSET + d.namelen,",
        "\t\t\t\t      (void *)zeros, pad & 7, 0))",
        "\t\t\tgoto bad;",
        "\t}",
        "\tl->woff += reclen;",
        "\tl->roff += reclen;",
        "\treturn 0;",
        "bad:",
        "\tl->error = -5; /* EIO */",
        "\treturn 1;",
        "}",
        "",
        "static __always_inline int fsp_filter_listing(struct fsp_listing *l,",
        "\t\t\t\t\t      struct fuse_read_out *out,",
        "\t\t\t\t\t      struct fuse_buffer *buffer)",
        "{",
        "\tstruct bpf_dynptr kept;",
        "",
        "\tl->size = bpf_fuse_return_len(buffer);",
        "\tif (l->size == 0)",
        "\t\treturn BPF_FUSE_CONTINUE;",
        "\tbpf_fuse_get_rw_dynptr(buffer, &l->dp, l->size, true);",
        "\t/* a record takes at least 32 bytes of the page READDIR fills */",
        "\tbpf_loop(4096 / 32, fsp_listing_step, l, 0);",
        "\tif (l->error || l->roff != l->size)",
        "\t\treturn -5; /* EIO */",
        "\tif (l->woff == l->size)",
        "\t\treturn BPF_FUSE_CONTINUE;",
        "\tbpf_fuse_get_rw_dynptr(buffer, &kept, l->woff, true);",
        "\tif (bpf_fuse_return_len(buffer) != l->woff)",
        "\t\treturn -5;",
        "\t/* every entry dropped: an empty answer would end the listing */",
        "\tif (l->woff == 0)",
        "\t\tout->again = 1;",
        "\treturn BPF_FUSE_CONTINUE;",
        "}",
        "",
    };
    for (std::string_view line : kRest) w.line(line);
  }

  void harness(CodeWriter& w) {
    w.line("SEC(\"syscall\")");
    w.line("int fsp_harness(struct fsp_harness_req *r)");
    w.open("{");
    w.line("struct fsp_caller c = { .uid = r->uid, .gid = r->gid };");
    if (uses_comm_) w.line("__builtin_memcpy(c.comm, r->comm, sizeof(c.comm));");
    w.line("struct fsp_walk wk = {};");
    // The filters write the attributes through a pointer: one to the
    // stack, as the verifier lets a program move pointers into it (not
    // into its context).
    w.line("struct fuse_attr attr = {};");
    w.line("__s32 child_set = -1;");
    w.line("__u32 set = r->set;");
    w.line("__s32 k;");
    w.line("__u32 child, pc;");
    w.line("int result;");
    w.blank();
    w.line("r->child_set = -1;");
    w.line("r->child_class = -1;");
    w.open("if (set >= FSP_SETS) {");
    w.line("r->result = -22; /* EINVAL */");
    w.line("return 0;");
    w.close("}");
    harness_attr(w, "attr.", "r->attr.");
    w.line("__builtin_memcpy(wk.name, r->name, FSP_NAME_MAX);");
    w.line("wk.len = r->name_len;");
    w.line("k = fsp_child_class(fsp_set_class[set], &wk);");
    w.line("r->child_class = k;");
    w.line("child = k < 0 ? 0xffffffff : (__u32)k;");
    // One run of the machine, whatever the filter: the verifier checks
    // it once.
    w.line("pc = 0;");
    w.open("switch (r->callback * 2 + r->post) {");
    for (size_t i = 0; i < plan::kCallbackCount; ++i) {
      auto cb = static_cast<Callback>(i);
      for (bool post : {false, true}) {
        if (!emitted_.count(fn_name(cb, post))) continue;
        w.label("case " + std::to_string(i * 2 + post) + ": /* " +
                std::string(plan::callback_name(cb)) + (post ? " post" : " pre") + " */");
        w.line("pc = " + fn_name(cb, post) + "_at[set];");
        w.line("break;");
      }
    }
    w.close("}");
    w.line("result = fsp_run((__u64)pc << 32 | child, (__u64)r->arg << 32 | r->type, &c, &child_set,");
    w.line("\t\t &attr);");
    if (emitted_.count(fn_name(Callback::lookup, false)) && !name_maps_.empty()) {
      w.line("if (r->callback == " + std::to_string(static_cast<int>(Callback::lookup)) +
             " && !r->post &&");
      w.line("    (result == BPF_FUSE_CONTINUE || result == BPF_FUSE_POSTFILTER ||");
      w.open("     result == BPF_FUSE_USER_POSTFILTER)) {");
      w.line("k = fsp_lower_name(set, child, &wk);");
      w.line("if (k < 0)");
      w.line("\tresult = k;");
      w.close("}");
    }
    // Written once: a pointer into the context kept across the calls
    // above is one the verifier refuses to write through.
    w.line("r->result = result;");
    w.line("r->child_set = child_set;");
    w.line("r->lower_len = wk.len;");
    w.line("__builtin_memcpy(r->lower, wk.name, FSP_NAME_MAX);");
    harness_attr(w, "r->attr.", "attr.");
    w.line("return 0;");
    w.close("}");
  }

 private:
  void collect(const Filter& f) {
    auto chains = [&](const Decision& d) {
      for (const Chain& c : d.chains) {
        for (const plan::Test& t : c.tests) {
          if (t.conditional) conditions_.insert(t.rule);
        }
      }
      for (const auto& field : d.attr) {
        for (const plan::Test& t : field) {
          if (t.conditional) conditions_.insert(t.rule);
        }
      }
    };
    if (f.where != Where::kKernel) return;
    chains(f.node);
    for (const Filter::Child& c : f.children) {
      chains(c.decision);
      if (c.name_map) name_maps_.insert(*c.name_map);
    }
  }

  // Name maps (plan: Filter::Child::name_map): the lookup prefilter looks
  // up the lower name of a view name, as ir::lower_name gives it: each
  // rename rule's first suffix map and first prefix map whose view side
  // fits, in the rule's order, on the name as the maps before left it.
  void names(CodeWriter& w) {
    if (name_maps_.empty()) return;
    static constexpr std::string_view kHelpers[] = {
        "/* Byte i of the name's last n bytes */",
        "static __always_inline __u8 fsp_tail(const struct fsp_walk *w, __u32 n, __u32 i)",
        "{",
        "\treturn (__u8)w->name[(w->len - n + i) & (FSP_NAME_MAX - 1)];",
        "}",
        "",
        "static __always_inline __u8 fsp_head(const struct fsp_walk *w, __u32 i)",
        "{",
        "\treturn (__u8)w->name[i & (FSP_NAME_MAX - 1)];",
        "}",
        "",
        "static __always_inline void fsp_put(struct fsp_walk *w, __u32 i, __u8 b)",
        "{",
        "\tw->name[i & (FSP_NAME_MAX - 1)] = (char)b;",
        "}",
        "",
        "static long fsp_shift_step(__u32 i, void *ctx)",
        "{",
        "\tstruct fsp_walk *w = ctx;",
        "\t__u32 at;",
        "",
        "\tif (i >= w->count)",
        "\t\treturn 1;",
        "\t/* moving right, the last byte first */",
        "\tat = w->delta > 0 ? w->from + w->count - 1 - i : w->from + i;",
        "\tw->name[(at + w->delta) & (FSP_NAME_MAX - 1)] = w->name[at & (FSP_NAME_MAX - 1)];",
        "\treturn 0;",
        "}",
        "",
        "/* Room for `to` bytes where the first `from` are (written next) */",
        "static __always_inline int fsp_resize_head(struct fsp_walk *w, __u32 from, __u32 to)",
        "{",
        "\tif (w->len - from + to >= FSP_NAME_MAX)",
        "\t\treturn -36; /* ENAMETOOLONG */",
        "\tif (from != to) {",
        "\t\tw->from = from;",
        "\t\tw->count = w->len - from;",
        "\t\tw->delta = (__s32)to - (__s32)from;",
        "\t\tbpf_loop(FSP_NAME_MAX, fsp_shift_step, w, 0);",
        "\t}",
        "\tw->len = w->len - from + to;",
        "\tfsp_put(w, w->len, 0);",
        "\treturn 0;",
        "}",
        "",
        "/* Room for `to` bytes where the last `from` are (written next) */",
        "static __always_inline int fsp_resize_tail(struct fsp_walk *w, __u32 from, __u32 to)",
        "{",
        "\tif (w->len - from + to >= FSP_NAME_MAX)",
        "\t\treturn -36; /* ENAMETOOLONG */",
        "\tw->len = w->len - from + to;",
        "\tfsp_put(w, w->len, 0);",
        "\treturn 0;",
        "}",
        "",
    };
    for (std::string_view l : kHelpers) w.line(l);
    for (uint32_t id : name_maps_) {
      const ir::Rule& rule = p_.rules[id];
      w.line("/* " + rule.where.str() + ": the lower name of a view name (1: it changed) */");
      w.line("static __always_inline int fsp_names_" + std::to_string(id) + "(struct fsp_walk *w)");
      w.open("{");
      w.line("bool suffix = false, prefix = false;");
      w.line("__u32 base;");
      w.blank();
      w.from(rule.where);
      for (const ir::NameMap& m : rule.names) {
        const std::string& from = m.view;
        const std::string& to = m.lower;
        std::string n = std::to_string(from.size());
        std::string test = std::string(m.suffix ? "!suffix" : "!prefix") + " && w->len >= " + n;
        for (size_t i = 0; i < from.size(); ++i) {
          test += std::string(" &&\n\t    ") +
                  (m.suffix ? "fsp_tail(w, " + n + ", " + std::to_string(i) + ")"
                            : "fsp_head(w, " + std::to_string(i) + ")") +
                  " == " + std::to_string(static_cast<uint8_t>(from[i]));
        }
        w.line(std::string("/* ") + (m.suffix ? "suffix " : "prefix ") + c_string(m.lower) +
               " -> " + c_string(m.view) + ": the view's " + c_string(from) + " is " +
               c_string(to) + " */");
        w.open("if (" + test + ") {");
        if (m.suffix) {
          w.line("base = w->len - " + n + ";");
          w.line("if (fsp_resize_tail(w, " + n + ", " + std::to_string(to.size()) + "))");
        } else {
          w.line("base = 0;");
          w.line("if (fsp_resize_head(w, " + n + ", " + std::to_string(to.size()) + "))");
        }
        w.line("\treturn -36; /* ENAMETOOLONG */");
        for (size_t i = 0; i < to.size(); ++i) {
          w.line("fsp_put(w, base + " + std::to_string(i) + ", " +
                 std::to_string(static_cast<uint8_t>(to[i])) + ");");
        }
        w.line(std::string(m.suffix ? "suffix" : "prefix") + " = true;");
        w.close("}");
      }
      w.back();
      w.line("return suffix || prefix;");
      w.close("}");
      w.blank();
    }
    // The map of a directory's child, by set and the child's class.
    w.line("static __always_inline int fsp_lower_name(__u32 set, __u32 child, struct fsp_walk *w)");
    w.open("{");
    w.open("switch (set) {");
    for (uint32_t s = 0; s < plan_.sets.size(); ++s) {
      const Filter& f = plan_.sets[s].filters[static_cast<size_t>(Callback::lookup)].pre;
      if (f.where != Where::kKernel || !plan::maps_names(f)) continue;
      w.label("case " + std::to_string(s) + ": /* " + set_text(plan_.sets[s]) + " */");
      w.open("switch (child) {");
      for (const Filter::Child& c : f.children) {
        if (!c.name_map) continue;
        w.label("case " + std::to_string(c.cls) + ": /* '" + p_.classes[c.cls].example + "' */");
        w.line("return fsp_names_" + std::to_string(*c.name_map) + "(w);");
      }
      w.close("}");
      w.line("break;");
    }
    w.close("}");
    w.line("return 0;");
    w.close("}");
    w.blank();
  }

  // What makes two sets' filters for a callback the same program.
  static std::string filter_key(const ProgramSet& set, Callback cb, bool post) {
    const Filter& f = post ? set.filters[static_cast<size_t>(cb)].post
                           : set.filters[static_cast<size_t>(cb)].pre;
    std::string k = std::to_string(static_cast<int>(f.where)) + "|" + f.reason + "|" +
                    std::to_string(f.daemon_result) + "|";
    if (f.lists) k += "lists " + set.name + "|";  // runs the set's own lookup filters
    auto tests = [&](const std::vector<plan::Test>& list) {
      for (const plan::Test& t : list) {
        k += std::to_string(t.rule) + (t.conditional ? "?" : "") + "=" + std::to_string(t.error) + ",";
      }
      k += ";";
    };
    auto decision = [&](const Decision& d) {
      for (const Chain& c : d.chains) {
        k += c.what + "/" + std::to_string(c.arg_atom) + ":";
        tests(c.tests);
      }
      for (const auto& field : d.attr) tests(field);
      k += "then" + std::to_string(d.then) + d.then_reason + "set" + std::to_string(d.child_set) + "#";
    };
    if (f.by_name) {
      // The walk starts at the set's class.
      k += "class" + std::to_string(set.cls) + ":";
      for (const Filter::Child& c : f.children) {
        k += std::to_string(c.cls) + "/" + std::to_string(c.types) + ":";
        if (c.name_map) k += "map" + std::to_string(*c.name_map) + ":";
        decision(c.decision);
      }
    } else {
      decision(f.node);
    }
    return k;
  }

  std::string set_text(const ProgramSet& set) const {
    std::string out = "'" + p_.classes[set.cls].example + "'";
    if (!set.hidden_above.empty()) out += " below a conditional hide";
    return out;
  }

  void tables(CodeWriter& w) {
    const automata::Dfa& dfa = p_.dfa;
    uint32_t states = dfa.state_count();
    w.line("/* The policy's DFA over path bytes: " + std::to_string(states) + " states, " +
           std::to_string(dfa.class_count) + " input classes, " +
           std::to_string(p_.classes.size()) + " path classes. */");
    w.line("#define FSP_STATES " + std::to_string(states));
    w.line("#define FSP_INPUT_CLASSES " + std::to_string(dfa.class_count));
    w.line("#define FSP_NEXT_SIZE " + std::to_string(dfa.next.size()));
    w.line("#define FSP_CLASSES " + std::to_string(p_.classes.size()));
    w.line("#define FSP_SETS " + std::to_string(plan_.sets.size()));
    w.blank();
    array(w, "__u8", "fsp_byte_class", std::vector<int64_t>(dfa.byte_class.begin(), dfa.byte_class.end()));
    array(w, "__u32", "fsp_next", std::vector<int64_t>(dfa.next.begin(), dfa.next.end()));
    array(w, "__s32", "fsp_class_of_state",
          std::vector<int64_t>(p_.class_of_state.begin(), p_.class_of_state.end()));
    std::vector<int64_t> class_state, set_class, passthrough, tracked;
    for (const ir::PathClass& pc : p_.classes) class_state.push_back(pc.state);
    for (const ProgramSet& set : plan_.sets) {
      set_class.push_back(set.cls);
      passthrough.push_back(set.passthrough);
      tracked.push_back(set.tracked ? (set.tracked_dirs_only ? 2 : 1) : 0);
    }
    array(w, "__u32", "fsp_class_state", class_state);
    array(w, "__u32", "fsp_set_class", set_class);
    array(w, "__u8", "fsp_set_passthrough", passthrough);
    array(w, "__u8", "fsp_set_tracked", tracked);
    if (states_ && std::any_of(plan_.sets.begin(), plan_.sets.end(), [](const ProgramSet& set) {
          return set.filters[static_cast<size_t>(Callback::readdir)].post.lists;
        })) {
      std::vector<int64_t> lists;
      for (const ProgramSet& set : plan_.sets) {
        lists.push_back(set.filters[static_cast<size_t>(Callback::readdir)].post.lists);
      }
      w.line("/* Whose listings the readdir postfilter filters */");
      array(w, "__u8", "fsp_set_lists", lists);
    }
    w.line("/* Whether the daemon learns a node of a set (tracked 1: every node; 2:");
    w.line(" * directories, type 2) */");
    w.line("static __always_inline bool fsp_tracks(__u32 set, __u32 type)");
    w.open("{");
    w.line("if (set >= FSP_SETS)");
    w.line("\treturn false;");
    w.line("return fsp_set_tracked[set] == 1 || (fsp_set_tracked[set] == 2 && type == 2);");
    w.close("}");
    w.blank();
    char digest[32];
    std::snprintf(digest, sizeof digest, "0x%016llx",
                  static_cast<unsigned long long>(plan::policy_digest(p_, plan_.profile)));
    w.line("/* The policy and profile these programs decide (plan::policy_digest): fsrun");
    w.line(" * checks it before it registers the sets. */");
    w.line("const volatile __u64 fsp_policy_digest = " + std::string(digest) + "ULL;");
    w.line("/* The names the program sets are registered under (fsrun gives each mount");
    w.line(" * names of its own, of the same length) */");
    w.open("static const volatile char fsp_set_names[FSP_SETS][16] = {");
    for (const ProgramSet& set : plan_.sets) w.line(c_string(set.name) + ",");
    w.close("};");
    w.blank();
  }

  static void array(CodeWriter& w, std::string_view type, std::string_view name,
                    const std::vector<int64_t>& values) {
    w.open("static const volatile " + std::string(type) + " " + std::string(name) + "[" +
           std::to_string(values.size()) + "] = {");
    std::string row;
    for (size_t i = 0; i < values.size(); ++i) {
      row += std::to_string(values[i]) + ",";
      if (row.size() > 64 || i + 1 == values.size()) {
        w.line(row);
        row.clear();
      } else {
        row += " ";
      }
    }
    w.close("};");
    w.blank();
  }

  void walk(CodeWriter& w) {
    w.line("struct fsp_walk {");
    w.line("\t__u32 state;");
    w.line("\t__u32 len;\t\t/* bytes of name, without a NUL */");
    if (!name_maps_.empty()) {
      w.line("\t__u32 from;\t\t/* name maps: bytes from .. */");
      w.line("\t__u32 count;\t\t/* .. count of them move .. */");
      w.line("\t__s32 delta;\t\t/* .. by delta */");
    }
    w.line("\tchar name[FSP_NAME_MAX];");
    w.line("};");
    w.blank();
    static constexpr std::string_view kWalk[] = {
        "static long fsp_step(__u32 i, void *ctx)",
        "{",
        "\tstruct fsp_walk *w = ctx;",
        "\t__u32 idx;",
        "",
        "\tif (i >= w->len || i >= FSP_NAME_MAX)",
        "\t\treturn 1;",
        "\tidx = w->state * FSP_INPUT_CLASSES + fsp_byte_class[(__u8)w->name[i]];",
        "\tif (idx >= FSP_NEXT_SIZE)",
        "\t\treturn 1;",
        "\tw->state = fsp_next[idx];",
        "\treturn 0;",
        "}",
        "",
        "/*",
        " * The class of the child w->name of a directory of class `cls`: one DFA",
        " * step per byte (bpf_loop), then the component's end.",
        " */",
        "static __always_inline __s32 fsp_child_class(__u32 cls, struct fsp_walk *w)",
        "{",
        "\t__u32 idx;",
        "\t__s32 child;",
        "",
        "\tif (cls >= FSP_CLASSES)",
        "\t\treturn -1;",
        "\t/* bounds the copy the compiler may spill before the check, for 6.1 */",
        "\tbarrier_var(cls);",
        "\tw->state = fsp_class_state[cls];",
        "\tbpf_loop(FSP_NAME_MAX, fsp_step, w, 0);",
        "\tidx = w->state * FSP_INPUT_CLASSES + fsp_byte_class['/'];",
        "\tif (idx >= FSP_NEXT_SIZE)",
        "\t\treturn -1;",
        "\tidx = fsp_next[idx];",
        "\tif (idx >= FSP_STATES)",
        "\t\treturn -1;",
        "\tchild = fsp_class_of_state[idx];",
        "\treturn child >= 0 ? child : (__s32)cls;",
        "}",
        "",
    };
    for (std::string_view l : kWalk) w.line(l);
    w.line("struct fsp_caller {");
    w.line("\t__u32 uid;");
    w.line("\t__u32 gid;");
    if (uses_comm_) w.line("\tchar comm[16];\t\t/* the process name, NUL-terminated */");
    w.line("};");
    w.blank();
  }

 public:
  // The caller as the target profile lets a filter see it.
  void caller_now(CodeWriter& w) const {
    w.line("static __always_inline void fsp_caller_now(struct fsp_caller *c)");
    w.open("{");
    w.line("__u64 ug = bpf_get_current_uid_gid();");
    w.blank();
    w.line("c->uid = (__u32)ug;");
    w.line("c->gid = (__u32)(ug >> 32);");
    if (uses_comm_) w.line("bpf_get_current_comm(c->comm, sizeof(c->comm));");
    w.close("}");
    w.blank();
  }

 private:
  // The decision machine (decision_program.h): the policy's decisions as
  // op tables, one step function that runs them, and per callback and
  // stage the first op of each set's filter. The same code for every
  // policy: the verifier checks it once per call, whatever the rules.
  void machine(CodeWriter& w) {
    const DecisionProgram& d = prog_;
    w.line("/* The decision machine: " + std::to_string(d.ops.size()) + " ops, one per bpf_loop step");
    w.line(" * (codegen/vm_ops.def). An op is { op | field << 8, a, b, c, t, f }: t is");
    w.line(" * the next op (when its test holds), f the next when it does not. */");
    for (size_t i = 0; i < kVmOpCount; ++i) {
      w.line("#define FSP_OP_" + std::string(vm_op_name(static_cast<VmOp>(i))) + " " +
             std::to_string(i) + "\t/* " + std::string(vm_op_meaning(static_cast<VmOp>(i))) + " */");
    }
    w.line("#define FSP_OPS " + std::to_string(d.ops.size()));
    w.line("#define FSP_STEPS " + std::to_string(d.max_steps));
    w.line("#define FSP_CHILDREN " + std::to_string(std::max<size_t>(d.children.size(), 1)));
    w.blank();
    static constexpr std::string_view kTypes[] = {
        "struct fsp_op {",
        "\t__u32 op;",
        "\t__u32 a, b, c;",
        "\t__u32 t, f;",
        "};",
        "",
        "struct fsp_child {",
        "\t__u32 cls;",
        "\t__u32 op;",
        "};",
        "",
    };
    for (std::string_view l : kTypes) w.line(l);
    w.open("static const volatile struct fsp_op fsp_ops[FSP_OPS] = {");
    for (size_t i = 0; i < d.ops.size(); ++i) {
      const VmRow& r = d.ops[i];
      std::string op = "FSP_OP_" + std::string(vm_op_name(r.op));
      if (r.field) op += " | " + std::to_string(r.field) + " << 8";
      std::string a = std::to_string(r.a);
      if (r.op == VmOp::RET) {
        auto result = static_cast<int32_t>(r.a);
        a = result < 0 ? "(__u32)" + std::to_string(result) : result_text(result);
      }
      w.line("{ " + op + ", " + a + ", " + std::to_string(r.b) + ", " +
             std::to_string(r.c) + ", " + std::to_string(r.t) + ", " + std::to_string(r.f) +
             " },\t/* " + std::to_string(i) + ": " + comment_safe(r.note) + " */");
    }
    w.close("};");
    w.blank();
    w.open("static const volatile struct fsp_child fsp_children[FSP_CHILDREN] = {");
    if (d.children.empty()) w.line("{ 0, 0 },");
    for (const auto& [cls, op] : d.children) {
      w.line("{ " + std::to_string(cls) + ", " + std::to_string(op) + " },\t/* '" +
             comment_safe(p_.classes[cls].example) + "' */");
    }
    w.close("};");
    w.blank();
    if (!d.comms.empty()) {
      w.line("#define FSP_COMMS " + std::to_string(d.comms.size()));
      w.blank();
      w.line("struct fsp_comm {");
      w.line("\tchar name[16];");
      w.line("\t__u32 len;");
      w.line("};");
      w.blank();
      w.open("static const volatile struct fsp_comm fsp_comms[FSP_COMMS] = {");
      for (const std::string& name : d.comms) {
        w.line("{ " + c_string(name) + ", " + std::to_string(name.size()) + " },");
      }
      w.close("};");
      w.blank();
      static constexpr std::string_view kComm[] = {
          "/* The caller's process name is comms[n], its NUL included */",
          "static __always_inline bool fsp_comm_is(const struct fsp_caller *c, __u32 n)",
          "{",
          "\tbool same = true;",
          "",
          "\tif (n >= FSP_COMMS)",
          "\t\treturn false;",
          "\tbarrier_var(n);",
          "#pragma unroll",
          "\tfor (__u32 i = 0; i < 16; i++) {",
          "\t\tif (i <= fsp_comms[n].len && c->comm[i] != fsp_comms[n].name[i])",
          "\t\t\tsame = false;",
          "\t}",
          "\treturn same;",
          "}",
          "",
      };
      for (std::string_view l : kComm) w.line(l);
    }
    w.line("/* The request argument's atoms (arg_atoms.def) */");
    w.line("static __always_inline bool fsp_arg(__u32 row, __u32 v)");
    w.open("{");
    w.open("switch (row) {");
    for (int row : d.arg_rows) {
      w.label("case " + std::to_string(row) + ":");
      w.line("return " + std::string(kArgRows[row].predicate) + ";");
    }
    w.close("}");
    w.line("return false;");
    w.close("}");
    w.blank();
    w.line("#include \"fsp_machine.h\"");
    w.blank();
    // The decision function of each callback and stage: the set's program.
    for (size_t i = 0; i < plan::kCallbackCount * 2; ++i) {
      if (d.entry[i].empty()) continue;
      auto cb = static_cast<Callback>(i / 2);
      std::string name = fn_name(cb, i % 2 == 1);
      emitted_.insert(name);
      std::vector<int64_t> at(d.entry[i].begin(), d.entry[i].end());
      w.line("/* " + std::string(plan::callback_name(cb)) + (i % 2 ? " postfilter" : " prefilter") +
             ": the first op of each set's */");
      array(w, "__u32", name + "_at", at);
      w.line("static __always_inline int " + name +
             "(__u32 set, const struct fsp_caller *c, __u32 v, __u32 child, __u32 type,");
      w.line("\t\t\t\t\t__s32 *child_set, struct fuse_attr *a)");
      w.open("{");
      w.line("if (set >= FSP_SETS)");
      w.line("\treturn BPF_FUSE_CONTINUE;");
      w.line("barrier_var(set);");
      w.line("return fsp_run((__u64)" + name + "_at[set] << 32 | child, (__u64)v << 32 | type, c,");
      w.line("\t       child_set, a);");
      w.close("}");
      w.blank();
    }
  }

  // Text for a C comment: no "*/" inside.
  static std::string comment_safe(std::string s) {
    for (size_t at = s.find("*/"); at != std::string::npos; at = s.find("*/", at)) s[at] = '?';
    return s;
  }
  // Whether the filter of `cb` does `what` in set `s`, or in some set with
  // programs (kEverySet).
  template <typename What>
  bool serves(uint32_t s, What what) const {
    if (s != kEverySet) return what(plan_.sets[s]);
    return std::any_of(plan_.sets.begin(), plan_.sets.end(),
                       [&](const ProgramSet& set) { return !set.passthrough && what(set); });
  }

  void program(CodeWriter& w, uint32_t s, Callback cb, bool post) {
    size_t i = static_cast<size_t>(cb);
    bool every = s == kEverySet;
    std::string set_arg = every ? "set" : std::to_string(s);
    std::string cls = every ? "fsp_set_class[set]" : std::to_string(plan_.sets[s].cls);
    std::string name = prog_name(s, cb, post);
    w.line("SEC(\"struct_ops/" + name + "\")");
    w.line("__u32 BPF_PROG(" + name + ", " + unparen(post ? kParams[i].post : kParams[i].pre) + ")");
    w.open("{");
    bool lists =
        post && serves(s, [&](const ProgramSet& set) { return set.filters[i].post.lists; });
    if (every) {
      w.line("__u32 set = meta->state;");
      if (lists) w.line("struct fsp_listing l = {};");
    }
    if (lists) {
      if (every) {
        w.blank();
        w.line("if (set >= FSP_SETS)");
        w.line("\treturn -5; /* EIO: a node state this policy does not have */");
        w.line("barrier_var(set);");
        w.open("if (fsp_set_lists[set]) {");
        w.line("l.set = set;");
        w.line("l.cls = " + cls + ";");
      } else {
        w.line("struct fsp_listing l = { .set = " + set_arg + ", .cls = " + cls + " };");
        w.blank();
      }
      w.line("if (meta->error_in)");
      w.line("\treturn BPF_FUSE_CONTINUE;");
      if (uses_caller_) w.line("fsp_caller_now(&l.c);");
      w.line("return fsp_filter_listing(&l, out, buffer);");
      if (every) w.close("}");
      if (!every || !emitted_.count(fn_name(cb, post))) {
        if (every) w.line("return BPF_FUSE_CONTINUE;");
        w.close("}");
        w.blank();
        return;
      }
    }
    bool walks = reads_name(cb) && emitted_.count(fn_name(cb, post));
    std::string_view field = arg_field(plan::callback_opcode(cb));
    w.line("struct fsp_caller c = {};");
    bool maps = cb == Callback::lookup && !post && walks && serves(s, [&](const ProgramSet& set) {
                  return plan::maps_names(set.filters[i].pre);
                });
    if (maps) {
      // The name stays: the lower name is written over it.
      w.line("struct fsp_walk wk = {};");
      w.line("struct bpf_dynptr name_dp;");
      w.line("struct bpf_dynptr lower_dp;");
    }
    if (walks) w.line("__s32 k;");
    if (cb == Callback::lookup && post) {
      // A dynptr slot of its own: 6.1 does not let a kfunc set up a
      // dynptr where another one lived.
      w.line("struct fuse_bpf_entry_out e = {};");
      w.line("struct bpf_dynptr entries_dp;");
      w.line("__u32 cs;");
    }
    bool maps_ids = cb == Callback::setattr && !post && emitted_.count(fn_name(cb, post)) &&
                    serves(s, [&](const ProgramSet& set) {
                      const auto& attr = set.filters[i].pre.node.attr;
                      return !attr[static_cast<size_t>(ir::AttrField::kUid)].empty() ||
                             !attr[static_cast<size_t>(ir::AttrField::kGid)].empty();
                    });
    if (maps_ids) w.line("struct fuse_attr ids = { .uid = in->uid, .gid = in->gid };");
    w.line("__s32 child_set = -1;");
    w.line("__u32 child = 0;");
    w.line("__u32 type = 0;");
    w.line("__u32 v = 0;");
    w.line("int ret;");
    w.blank();
    if (every && !lists) {
      // The barrier: a copy the compiler spilled before the check would
      // come back unbounded on 6.1's verifier.
      w.line("if (set >= FSP_SETS)");
      w.line("\treturn -5; /* EIO: a node state this policy does not have */");
      w.line("barrier_var(set);");
    }
    if (cb == Callback::lookup && post) {
      w.line("if (meta->error_in)");
      w.line("\treturn BPF_FUSE_CONTINUE;");
      w.line("type = fsp_type_of(out->attr.mode);");
    }
    if (uses_caller_) w.line("fsp_caller_now(&c);");
    if (!field.empty() && !post) w.line("v = in->" + std::string(field) + ";");
    if (maps) {
      w.line("if (fsp_read_name(name, &wk, &name_dp))");
      w.line("\treturn -5; /* EIO: a name the filter cannot read */");
      w.line("k = fsp_child_class(" + cls + ", &wk);");
    } else if (walks) {
      w.line("k = fsp_name_class(name, " + cls + ");");
    }
    if (walks) {
      w.line("if (k < 0)");
      w.line("\treturn -5;");
      w.line("child = (__u32)k;");
    }
    if (emitted_.count(fn_name(cb, post))) {
      bool attrs = post && (cb == Callback::getattr || cb == Callback::setattr ||
                            cb == Callback::lookup);
      std::string attr_arg = attrs ? "&out->attr" : "0";
      if (maps_ids) attr_arg = "&ids";
      w.line("ret = " + fn_name(cb, post) + "(" + set_arg + ", &c, v, child, type, &child_set, " +
             attr_arg + ");");
      if (maps_ids) {
        // The lower ids a chown asks for; 0xffffffff: the lower id stays.
        for (const char* id : {"uid", "gid"}) {
          std::string bit = std::string("FATTR_") + (id[0] == 'u' ? "UID" : "GID");
          w.open(std::string("if (ret >= 0 && (in->valid & ") + bit + ")) {");
          w.line(std::string("if (ids.") + id + " == 0xffffffffU)");
          w.line("\tin->valid &= ~" + bit + ";");
          w.line("else");
          w.line(std::string("\tin->") + id + " = ids." + id + ";");
          w.close("}");
        }
      }
    } else {
      const Filter& f = every ? Filter{} : plan_.sets[s].filters[i].pre;
      w.line("ret = " + result_text(f.where == Where::kDaemon ? f.daemon_result : plan::kContinue) + ";");
    }
    if (maps) {
      // The kernel looks up the lower name; the postfilters see the
      // view's (profile view_names).
      w.line("if (ret == BPF_FUSE_CONTINUE || ret == BPF_FUSE_POSTFILTER ||");
      w.open("    ret == BPF_FUSE_USER_POSTFILTER) {");
      w.line("k = fsp_lower_name(" + set_arg + ", child, &wk);");
      w.line("if (k < 0)");
      w.line("\treturn k;");
      w.line("if (k > 0 && fsp_write_name(name, &wk, &lower_dp))");
      w.line("\treturn -5; /* EIO: the lower name cannot be written */");
      w.close("}");
    }
    if (cb == Callback::lookup && post) {
      w.line("if (ret < 0)");
      w.line("\treturn ret;");
      w.line(std::string("if (child_set < 0) /* the child keeps this ") +
             (every ? "state */" : "set */"));
      w.line("\treturn fsp_tracks(" + set_arg + ", type) ? BPF_FUSE_USER_POSTFILTER : ret;");
      // The compiler knows the set's range and may drop the bound check:
      // the barrier keeps it, for the verifier.
      w.line("cs = (__u32)child_set;");
      w.line("barrier_var(cs);");
      w.line("if (cs >= FSP_SETS)");
      w.line("\treturn ret;");
      w.open("if (fsp_set_passthrough[cs]) {");
      w.line("e.entry_type = FUSE_ENTRY_REMOVE_BPF;");
      w.close("} else {");
      w.indent();
      w.line("e.entry_type = FUSE_ENTRY_BPF;");
      w.line("__builtin_memcpy(e.name, (const char *)fsp_set_names[cs], 16);");
      if (every) w.line("e.state = cs;");
      w.close("}");
      w.line("if (fsp_write_entry(entries, &e, &entries_dp))");
      w.line("\treturn -5; /* EIO: the child's program set cannot be attached */");
      w.line("if (fsp_tracks(cs, type))");
      w.line("\treturn BPF_FUSE_USER_POSTFILTER;");
    }
    w.line("return ret;");
    w.close("}");
    w.blank();
  }

 public:
  bool uses_caller_ = false;
  bool uses_comm_ = false;
  void finish_collect() {
    uses_caller_ = !conditions_.empty();
    for (uint32_t id : conditions_)
      uses_comm_ = uses_comm_ || mentions_comm(*p_.rules[id].condition);
  }

 private:
  static bool mentions_comm(const ir::Condition& c) {
    if (c.kind == ir::Condition::Kind::kCommIn) return true;
    return std::any_of(c.operands.begin(), c.operands.end(), mentions_comm);
  }

  const ir::Policy& p_;
  const plan::Plan& plan_;
  const DecisionProgram& prog_;
  std::set<uint32_t> conditions_;
  std::set<uint32_t> name_maps_;  // rename rules a lookup prefilter applies
  std::set<std::string> emitted_;
  bool states_ = plan::profile_info(plan_.profile).node_states;
  // Per callback and stage (index cb * 2 + post), per set: the set whose
  // program it uses.
  std::array<std::vector<uint32_t>, plan::kCallbackCount * 2> rep_;
};

void head(CodeWriter& w, const ir::Policy& policy, const plan::Plan& plan, std::string_view what) {
  w.line("// SPDX-License-Identifier: GPL-2.0");
  w.line("/*");
  w.line(" * " + std::string(what) + " of policy '" + policy.name + "'");
  w.line(" * for the " + std::string(plan::profile_info(plan.profile).name) +
         " profile. Generated by fsc " FSPOL_VERSION "; do not edit.");
  w.line(" */");
}

}  // namespace

BpfFiles emit_bpf_c(const ir::Policy& policy, const plan::Plan& plan, std::string_view stem) {
  BpfFiles out;
  DecisionProgram decisions = assemble_decisions(policy, plan);
  Emitter emitter(policy, plan, decisions);
  emitter.finish_collect();
  {
    CodeWriter w(std::string(stem) + ".bpf.c");
    head(w, policy, plan, "fuse_ops program sets");
    w.line("#include <linux/types.h>");
    w.line("#include <stdbool.h>");
    w.line("#include <bpf/bpf_helpers.h>");
    w.line("#include <bpf/bpf_tracing.h>");
    w.line("#include <linux/bpf.h>");
    w.line("#include \"fuse_bpf_abi.h\"");
    w.line("#include \"fsp_harness.h\"");
    w.blank();
    w.line("char _license[] SEC(\"license\") = \"GPL\";");
    w.blank();
    emitter.shared(w);
    w.line("/* The caller, as the target profile lets a filter see it */");
    emitter.caller_now(w);
    static constexpr std::string_view kGlue[] = {
        "static __always_inline int fsp_read_name(const struct fuse_buffer *name,",
        "\t\t\t\t\t struct fsp_walk *w, struct bpf_dynptr *dp)",
        "{",
        "\t__u32 len;",
        "",
        "\tbpf_fuse_get_ro_dynptr(name, dp);",
        "\tlen = bpf_fuse_return_len((struct fuse_buffer *)name);",
        "\tif (len == 0 || len > FSP_NAME_MAX)",
        "\t\treturn -1;",
        "\tif (bpf_dynptr_read(w->name, len, dp, 0, 0))",
        "\t\treturn -1;",
        "\tw->len = len - 1;",
        "\treturn 0;",
        "}",
        "",
        "static __always_inline int fsp_write_entry(struct fuse_buffer *entries,",
        "\t\t\t\t\t   struct fuse_bpf_entry_out *e,",
        "\t\t\t\t\t   struct bpf_dynptr *dp)",
        "{",
        "\tbpf_fuse_get_rw_dynptr(entries, dp, sizeof(*e), false);",
        "\treturn bpf_dynptr_write(dp, 0, e, sizeof(*e), 0) ? -1 : 0;",
        "}",
        "",
        "static __always_inline __u32 fsp_type_of(__u32 mode)",
        "{",
        "\tswitch (mode & 0170000) {",
        "\tcase 0040000: return 2;\t/* dir */",
        "\tcase 0120000: return 4;\t/* symlink */",
        "\tcase 0010000: return 8;\t/* fifo */",
        "\tcase 0140000: return 16;\t/* socket */",
        "\tcase 0020000: return 32;\t/* chardev */",
        "\tcase 0060000: return 64;\t/* blockdev */",
        "\tdefault: return 1;\t/* file */",
        "\t}",
        "}",
        "",
    };
    for (std::string_view l : kGlue) w.line(l);
    emitter.name_glue(w);
    emitter.listing(w);
    emitter.struct_ops(w);
    out.bpf_c = w.text();
  }
  {
    CodeWriter w(std::string(stem) + ".harness.bpf.c");
    head(w, policy, plan, "Test harness for the filters");
    w.line("#include <linux/types.h>");
    w.line("#include <stdbool.h>");
    w.line("#include <bpf/bpf_helpers.h>");
    w.line("#include \"fuse_bpf_abi.h\"");
    w.line("#include \"fsp_harness.h\"");
    w.blank();
    w.line("char _license[] SEC(\"license\") = \"GPL\";");
    w.blank();
    Emitter harness(policy, plan, decisions);
    harness.finish_collect();
    harness.shared(w);
    harness.harness(w);
    out.harness_c = w.text();
  }
  return out;
}

const std::vector<std::pair<std::string, std::string>>& bpf_headers() {
  static const std::vector<std::pair<std::string, std::string>> headers = {
      {"fuse_bpf_abi.h", kFuseBpfAbiH},
      {"fuse_bpf_ops.def", kFuseBpfOpsDef},
      {"fsp_harness.h", kFspHarnessH},
      {"fsp_machine.h", kFspMachineH},
  };
  return headers;
}

}  // namespace fspol::codegen
