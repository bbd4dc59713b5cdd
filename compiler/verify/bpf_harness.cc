#include "verify/bpf_harness.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace fspol::verify {

Result<std::unique_ptr<BpfHarness>> BpfHarness::load(const std::string& object,
                                                     const std::string& name) {
  libbpf_set_print(nullptr);
  std::vector<char> log(4 << 20);
  LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = name.c_str(),
              .kernel_log_buf = log.data(), .kernel_log_size = log.size(),
              .kernel_log_level = 1);
  std::unique_ptr<BpfHarness> h(new BpfHarness);
  h->object_ = bpf_object__open_mem(object.data(), object.size(), &opts);
  if (h->object_ == nullptr) {
    int err = errno;
    return Error{err, name + ": cannot open the object: " + std::strerror(err)};
  }
  if (int err = bpf_object__load(h->object_); err != 0) {
    std::string text(log.data(), strnlen(log.data(), log.size()));
    if (text.size() > 8000) text = "...\n" + text.substr(text.size() - 8000);
    // With a log the verifier ran and refused the program (EACCES too):
    // not a missing permission.
    return Error{text.empty() ? -err : ENOEXEC,
                 name + ": the kernel refused to load the harness (" + std::strerror(-err) + ")" +
                     (text.empty() ? "" : ":\n" + text)};
  }
  bpf_program* prog = bpf_object__find_program_by_name(h->object_, "fsp_harness");
  if (prog == nullptr) return Error{ENOENT, name + ": no program fsp_harness"};
  h->fd_ = bpf_program__fd(prog);
  bpf_prog_info info{};
  __u32 len = sizeof(info);
  if (bpf_obj_get_info_by_fd(h->fd_, &info, &len) == 0) {
    h->verified_insns_ = info.verified_insns;
    h->program_insns_ = info.xlated_prog_len / 8;
  }
  return h;
}

BpfHarness::~BpfHarness() { bpf_object__close(object_); }

Result<fsp_harness_req> BpfHarness::run(const fsp_harness_req& request) const {
  // A syscall program's context comes back in ctx_in (ctx_out is refused).
  fsp_harness_req out = request;
  LIBBPF_OPTS(bpf_test_run_opts, run, .ctx_in = &out, .ctx_size_in = sizeof(out));
  if (bpf_prog_test_run_opts(fd_, &run) != 0) {
    int err = errno;
    return Error{err, std::string("BPF_PROG_TEST_RUN: ") + std::strerror(err)};
  }
  return out;
}

}  // namespace fspol::verify

namespace fspol::verify {

Result<uint32_t> register_struct_ops(const std::string& object, const std::string& name) {
  if (::access("/sys/fs/fuse/features/fuse_bpf", F_OK) != 0) {
    return Error{ENOTSUP, "the running kernel has no fuse-bpf"};
  }
  libbpf_set_print(nullptr);
  std::vector<char> log(4 << 20);
  LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = name.c_str(),
              .kernel_log_buf = log.data(), .kernel_log_size = log.size(),
              .kernel_log_level = 1);
  bpf_object* obj = bpf_object__open_mem(object.data(), object.size(), &opts);
  if (obj == nullptr) {
    int err = errno;
    return Error{err, name + ": cannot open the object: " + std::strerror(err)};
  }
  std::unique_ptr<bpf_object, void (*)(bpf_object*)> owner(obj, bpf_object__close);
  if (int err = bpf_object__load(obj); err != 0) {
    std::string text(log.data(), strnlen(log.data(), log.size()));
    if (text.size() > 8000) text = "...\n" + text.substr(text.size() - 8000);
    return Error{-err, name + ": the kernel refused the program sets (" + std::strerror(-err) +
                           ")" + (text.empty() ? "" : ":\n" + text)};
  }
  std::vector<bpf_link*> links;
  Result<uint32_t> out = 0u;
  bpf_map* map = nullptr;
  bpf_object__for_each_map(map, obj) {
    if (bpf_map__type(map) != BPF_MAP_TYPE_STRUCT_OPS) continue;
    bpf_link* link = bpf_map__attach_struct_ops(map);
    if (link == nullptr) {
      int err = errno;
      out = Error{err, name + ": cannot register " + bpf_map__name(map) + ": " + std::strerror(err)};
      break;
    }
    links.push_back(link);
  }
  for (bpf_link* link : links) bpf_link__destroy(link);
  if (!out) return out;
  return static_cast<uint32_t>(links.size());
}

}  // namespace fspol::verify
