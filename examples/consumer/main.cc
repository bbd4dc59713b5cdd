// notes-view LOWER MNT: serves examples/consumer/notes.fspol over LOWER
// at MNT, in the foreground, until MNT is unmounted (or SIGTERM).
#include <cstdio>
#include <filesystem>
#include <string>

#include "notes_stub.h"
#include "shout.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s LOWER MNT\n", argv[0]);
    return 2;
  }
  fspol::runtime::HandlerRegistry handlers = fspol::runtime::HandlerRegistry::builtin();
  handlers.add("shout", make_shout());
  auto policy = fspol_policy::notes::policy(handlers);
  if (!policy) {
    std::fprintf(stderr, "notes-view: %s\n", policy.error().message.c_str());
    return 1;
  }
  fspol::runtime::MountOptions options = policy->settings;
  options.lower = std::filesystem::absolute(argv[1]).lexically_normal().string();
  options.mountpoint = std::filesystem::absolute(argv[2]).lexically_normal().string();
  options.foreground = true;
  fspol::runtime::ServeHooks hooks;
  hooks.ready = [&](const std::string& mode) {
    std::fprintf(stderr, "notes-view: %s: %s\n", options.mountpoint.c_str(), mode.c_str());
  };
  auto served = fspol::runtime::serve(*policy, options, hooks);
  if (!served) {
    std::fprintf(stderr, "notes-view: %s\n", served.error().message.c_str());
    return 1;
  }
  return 0;
}
