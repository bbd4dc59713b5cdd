#include "bpf/program_sets.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <elf.h>
#include <sys/random.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "fuse_bpf_abi.h"
#include "log.h"

namespace fspol::runtime {
namespace {

// struct fuse_ops: 64 callbacks, then char name[15] (fuse_bpf_abi.h).
constexpr size_t kSetNameOffset = offsetof(struct fuse_ops, name);
constexpr size_t kSetNameSize = sizeof(fuse_ops::name);
// "fspXXXX_" in the object, "fXXXXXX_" for a mount.
constexpr size_t kPrefixLength = 8;

std::string read_line(const char* path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

std::string feature(const char* name) {
  return read_line((std::string(FUSE_BPF_FEATURE_DIR) + "/" + name).c_str());
}

// The sets' struct_ops values are in the object's ".struct_ops" section,
// one `struct fuse_ops fsp_set_<n>` each: writes `prefix` over the first
// kPrefixLength bytes of every set's name. Returns the sets' indexes n in
// order, or an error naming what is wrong with the object.
Result<std::vector<unsigned>> rename_in_elf(std::string& elf, const std::string& prefix) {
  auto bad = [](const std::string& what) {
    return Error{EINVAL, "not a fuse_ops object of fsc: " + what};
  };
  Elf64_Ehdr eh;
  if (elf.size() < sizeof eh) return bad("too short");
  std::memcpy(&eh, elf.data(), sizeof eh);
  if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64) {
    return bad("not a 64-bit ELF file");
  }
  if (eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shoff > elf.size() ||
      eh.e_shnum > (elf.size() - eh.e_shoff) / sizeof(Elf64_Shdr) || eh.e_shstrndx >= eh.e_shnum) {
    return bad("damaged section table");
  }
  std::vector<Elf64_Shdr> sh(eh.e_shnum);
  std::memcpy(sh.data(), elf.data() + eh.e_shoff, sh.size() * sizeof(Elf64_Shdr));
  auto in_file = [&](const Elf64_Shdr& s) {
    return s.sh_type == SHT_NOBITS ||
           (s.sh_offset <= elf.size() && s.sh_size <= elf.size() - s.sh_offset);
  };
  for (const Elf64_Shdr& s : sh) {
    if (!in_file(s)) return bad("a section beyond the end of the file");
  }
  const Elf64_Shdr& names = sh[eh.e_shstrndx];
  auto section_name = [&](const Elf64_Shdr& s) -> std::string {
    if (s.sh_name >= names.sh_size) return "";
    const char* p = elf.data() + names.sh_offset + s.sh_name;
    return std::string(p, strnlen(p, names.sh_size - s.sh_name));
  };
  size_t ops = 0, symtab = 0;
  for (size_t i = 1; i < sh.size(); ++i) {
    if (section_name(sh[i]) == ".struct_ops") ops = i;
    if (sh[i].sh_type == SHT_SYMTAB) symtab = i;
  }
  std::vector<unsigned> sets;
  if (ops == 0) return sets;  // no sets: a policy that needs none
  if (symtab == 0 || sh[symtab].sh_link >= sh.size()) return bad("no symbol table");
  const Elf64_Shdr& syms = sh[symtab];
  const Elf64_Shdr& strs = sh[syms.sh_link];
  for (size_t off = 0; off + sizeof(Elf64_Sym) <= syms.sh_size; off += sizeof(Elf64_Sym)) {
    Elf64_Sym sym;
    std::memcpy(&sym, elf.data() + syms.sh_offset + off, sizeof sym);
    if (sym.st_shndx != ops || ELF64_ST_TYPE(sym.st_info) != STT_OBJECT) continue;
    if (sym.st_name >= strs.sh_size) return bad("damaged symbol name");
    const char* name = elf.data() + strs.sh_offset + sym.st_name;
    unsigned n = 0;
    if (std::sscanf(name, "fsp_set_%u", &n) != 1)
      return bad(std::string("struct_ops value ") + name);
    if (sym.st_value > sh[ops].sh_size ||
        sh[ops].sh_size - sym.st_value < sizeof(struct fuse_ops)) {
      return bad(std::string(name) + " beyond its section");
    }
    char* set_name = elf.data() + sh[ops].sh_offset + sym.st_value + kSetNameOffset;
    if (std::strncmp(set_name, "fsp", 3) != 0 ||
        strnlen(set_name, kSetNameSize) < kPrefixLength + 1) {
      return bad(std::string(name) + " is not named as fsc names sets");
    }
    std::memcpy(set_name, prefix.data(), kPrefixLength);
    sets.push_back(n);
  }
  std::sort(sets.begin(), sets.end());
  return sets;
}

// The bytes of the variable `name` in the object's read-only data, or
// null; `size` receives their size.
char* rodata_var(bpf_object* obj, const char* name, size_t& size) {
  const struct btf* btf = bpf_object__btf(obj);
  if (btf == nullptr) return nullptr;
  int id = btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC);
  if (id < 0) return nullptr;
  const struct btf_type* sec = btf__type_by_id(btf, static_cast<__u32>(id));
  bpf_map* map = nullptr;
  bpf_object__for_each_map(map, obj) {
    std::string_view n = bpf_map__name(map);
    if (bpf_map__is_internal(map) && n.size() >= 7 && n.substr(n.size() - 7) == ".rodata") break;
  }
  if (map == nullptr) return nullptr;
  size_t total = 0;
  // libbpf 1.1 returns the writable copy it loads as const (skeletons write it).
  auto* data = static_cast<char*>(const_cast<void*>(bpf_map__initial_value(map, &total)));
  if (data == nullptr) return nullptr;
  const struct btf_var_secinfo* vars = btf_var_secinfos(sec);
  for (int i = 0; i < btf_vlen(sec); ++i) {
    const struct btf_type* var = btf__type_by_id(btf, vars[i].type);
    if (var == nullptr || std::strcmp(btf__name_by_offset(btf, var->name_off), name) != 0) continue;
    if (vars[i].offset > total || total - vars[i].offset < vars[i].size) return nullptr;
    size = vars[i].size;
    return data + vars[i].offset;
  }
  return nullptr;
}

std::string mount_prefix() {
  uint32_t r = 0;
  if (::getrandom(&r, sizeof r, 0) != sizeof r) r = static_cast<uint32_t>(::getpid()) * 2654435761u;
  char buf[16];
  std::snprintf(buf, sizeof buf, "f%06x_", r & 0xffffff);
  return buf;
}

}  // namespace

FuseBpfSupport probe_fuse_bpf() {
  FuseBpfSupport s;
  utsname u{};
  ::uname(&u);
  if (feature(FUSE_BPF_FEATURE_BPF) == "supported") {
    s.present = true;
    // fspol-6.1 is the kernel tier with both caller helpers, the view's
    // names in lookup postfilters and node states; a kernel with less gets
    // the RFC's profile (conditions and name maps go to the daemon, a
    // program set per node state).
    bool tier = feature(FUSE_BPF_FEATURE_UID_GID) == "supported" &&
                feature(FUSE_BPF_FEATURE_COMM) == "supported" &&
                feature(FUSE_BPF_FEATURE_VIEW_NAME) == "supported" &&
                feature(FUSE_BPF_FEATURE_STATE) == "supported";
    s.profile = tier ? "fspol-6.1" : "rfc-v3";
    s.no_daemon = feature(FUSE_BPF_FEATURE_NO_DAEMON) == "supported";
    s.assign = feature(FUSE_BPF_FEATURE_ASSIGN) == "supported";
    return s;
  }
  // A kernel with the RFC's fuse-bpf but not our feature files: its BTF
  // has struct fuse_ops.
  if (struct btf* btf = btf__load_vmlinux_btf()) {
    bool has = btf__find_by_name_kind(btf, "fuse_ops", BTF_KIND_STRUCT) > 0;
    btf__free(btf);
    if (has) {
      s.present = true;
      s.profile = "rfc-v3";
      return s;
    }
  }
  s.why = std::string("this kernel (Linux ") + u.release +
          ") has no fuse-bpf: neither " FUSE_BPF_FEATURE_DIR "/" FUSE_BPF_FEATURE_BPF
          " nor a struct fuse_ops in its BTF";
  return s;
}

Result<std::unique_ptr<ProgramSets>> ProgramSets::load(std::string_view object, uint64_t digest,
                                                       const std::vector<bool>& passthrough,
                                                       bool node_states,
                                                       const std::string& state_file) {
  std::vector<unsigned> wanted;
  for (unsigned i = 0; i < passthrough.size(); ++i) {
    if (!passthrough[i] && (!node_states || wanted.empty())) wanted.push_back(i);
  }
  // A name another mount registered meanwhile (one in 16 million): draw
  // again.
  for (int attempt = 0;; ++attempt) {
    std::string prefix = mount_prefix();
    std::string elf(object);
    auto renamed = rename_in_elf(elf, prefix);
    if (!renamed) return renamed.error();
    if (*renamed != wanted) {
      return Error{EINVAL, "the object holds " + std::to_string(renamed->size()) +
                               " program sets, the policy needs " + std::to_string(wanted.size()) +
                               ": it was compiled from another policy (compile it again)"};
    }
    std::unique_ptr<ProgramSets> sets(new ProgramSets());
    sets->obj_ = bpf_object__open_mem(elf.data(), elf.size(), nullptr);
    if (sets->obj_ == nullptr) {
      return Error{errno, std::string("libbpf cannot open the object: ") + std::strerror(errno)};
    }
    size_t size = 0;
    const char* d = rodata_var(sets->obj_, "fsp_policy_digest", size);
    uint64_t found = 0;
    if (d == nullptr || size != sizeof found) {
      return Error{EINVAL, "the object has no policy digest: it was not compiled by this fsc"};
    }
    std::memcpy(&found, d, sizeof found);
    if (found != digest) {
      return Error{EINVAL,
                   "the object was compiled from another policy or for another kernel profile "
                   "(compile it again)"};
    }
    if (char* table = rodata_var(sets->obj_, "fsp_set_names", size)) {
      for (size_t off = 0; off + 16 <= size; off += 16)
        std::memcpy(table + off, prefix.data(), kPrefixLength);
    }
    if (bpf_object__load(sets->obj_) != 0) {
      int err = errno;
      return Error{err, std::string("the kernel refused the programs (") + std::strerror(err) +
                            "; the verifier's log is above)"};
    }
    sets->names_.resize(passthrough.size());
    bool taken = false;
    bpf_map* map = nullptr;
    std::string records;
    bpf_object__for_each_map(map, sets->obj_) {
      if (bpf_map__type(map) != BPF_MAP_TYPE_STRUCT_OPS) continue;
      unsigned n = 0;
      std::sscanf(bpf_map__name(map), "fsp_set_%u", &n);
      bpf_link* link = bpf_map__attach_struct_ops(map);
      if (link == nullptr) {
        int err = errno;
        if (err == EEXIST && attempt < 4) {
          taken = true;
          break;
        }
        return Error{err, "cannot register program set " + prefix + std::to_string(n) + ": " +
                              std::strerror(err)};
      }
      sets->links_.push_back(link);
      for (size_t i = 0; i < passthrough.size(); ++i) {
        if (i == n || (node_states && !passthrough[i]))
          sets->names_[i] = prefix + std::to_string(n);
      }
      bpf_map_info info{};
      __u32 len = sizeof info;
      if (bpf_obj_get_info_by_fd(bpf_map__fd(map), &info, &len) == 0) {
        records += std::to_string(info.id) + " " + prefix + std::to_string(n) + "\n";
      }
    }
    if (taken) continue;  // the destructor unregistered what was registered
    sets->records_ = std::move(records);
    if (!state_file.empty()) sets->take_state_file(state_file);
    return sets;
  }
}

void ProgramSets::take_state_file(const std::string& state_file) {
  std::string old = state_file_;
  state_file_.clear();
  std::ofstream out(state_file, std::ios::trunc);
  out << records_;
  if (out.good()) state_file_ = state_file;
  if (!old.empty() && old != state_file) ::unlink(old.c_str());
}

void ProgramSets::keep(std::unique_ptr<ProgramSets> other) {
  records_ += other->records_;
  if (!other->state_file_.empty()) ::unlink(other->state_file_.c_str());
  other->state_file_.clear();
  kept_.push_back(std::move(other));
  if (!state_file_.empty()) take_state_file(state_file_);
}

ProgramSets::~ProgramSets() {
  for (bpf_link* link : links_) bpf_link__destroy(link);
  if (obj_ != nullptr) bpf_object__close(obj_);
  if (!state_file_.empty()) ::unlink(state_file_.c_str());
}

size_t unregister_stale_sets(const std::string& state_file) {
  std::ifstream in(state_file);
  if (!in) return 0;
  size_t removed = 0;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    uint32_t id = 0;
    std::string name;
    if (!(fields >> id >> name) || name.size() >= kSetNameSize) continue;
    int fd = bpf_map_get_fd_by_id(id);
    if (fd < 0) continue;  // gone already
    // Map ids are reused: only a struct_ops map whose value still holds
    // the recorded name (unique to that mount) is the one to remove.
    bpf_map_info info{};
    __u32 len = sizeof info;
    bool ours = false;
    if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && info.type == BPF_MAP_TYPE_STRUCT_OPS) {
      std::vector<char> value(info.value_size);
      uint32_t key = 0;
      std::string field = name + std::string(1, '\0');
      ours = bpf_map_lookup_elem(fd, &key, value.data()) == 0 &&
             std::search(value.begin(), value.end(), field.begin(), field.end()) != value.end();
      if (ours && bpf_map_delete_elem(fd, &key) == 0) ++removed;
    }
    ::close(fd);
  }
  ::unlink(state_file.c_str());
  return removed;
}

}  // namespace fspol::runtime
