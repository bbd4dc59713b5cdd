#!/usr/bin/env python3
"""Loading a policy for a mount: fsrun runs the whole compiler front end and
refuses what it cannot apply, before anything is mounted.

- a policy with errors prints fsc's located diagnostics and mounts nothing;
- a rule the runtime cannot apply as written (a deny of `lock` alone) is
  a located error naming the rule, also
  when it comes from an imported module (with a note at the `use`); a
  module is not a policy;
- warnings print and the view mounts; -I and --users work as in fsc;
- relative LOWER and MNT name directories from the caller's working
  directory; -o cache=never wins over the policy's timeouts;
- an unprivileged daemon refuses allow_other (it cannot act as others).
"""
import os
import subprocess
import textwrap

from fsrun_env import Checker, Env, is_mounted


def write(path, text):
    with open(path, "w") as f:
        f.write(textwrap.dedent(text).lstrip())
    return path


def main():
    env = Env("loading")
    check = Checker(env)
    work = env.path("w")
    os.mkdir(work)
    os.chmod(work, 0o777)
    lower = os.path.join(work, "lower")
    os.mkdir(lower)
    with open(os.path.join(lower, ".env"), "w") as f:
        f.write("SECRET=1\n")
    mnt = os.path.join(work, "view")
    os.mkdir(mnt)

    def mount(*args, cwd=None, user=None):
        cmd = [env.fsrun, "mount", *args]
        if user is not None:
            cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"] + cmd
        return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd or work, timeout=60)

    def refused(name, result, *wanted):
        check.equal(result.returncode, 1, f"{name}: exit status ({result.stderr.strip()})")
        for text in wanted:
            check.check(text in result.stderr, f"{name}: {text!r} in {result.stderr!r}")
        check.check("the view is not mounted" in result.stderr, f"{name}: says nothing is mounted")
        check.check(not is_mounted(mnt), f"{name}: nothing mounted")

    # Errors in the policy: fsc's rendering, nothing mounted.
    write(os.path.join(work, "bad.fspol"), """
        policy bad {
          allow read on "/**" when uid == nosuchuser;
        }
        """)
    refused("errors", mount("bad.fspol", "lower", "view"),
            "bad.fspol:2:35: error: unknown user 'nosuchuser'\n"
            "  allow read on \"/**\" when uid == nosuchuser;\n"
            "                                  ^~~~~~~~~~\n")

    # Rules the runtime cannot apply as written, with the rule's location.
    write(os.path.join(work, "lock.fspol"), """
        policy nolock {
          deny lock on "/**";
        }
        """)
    refused("deny lock", mount("lock.fspol", "lower", "view"),
            "lock.fspol:2:3: error: fsrun cannot deny 'lock' alone")
    mods = os.path.join(work, "mods")
    os.mkdir(mods)
    write(os.path.join(mods, "owners.fspol"), """
        module owners {
          deny lock on "/a/*";
        }
        """)
    write(os.path.join(work, "imported.fspol"), """
        import owners;
        policy ro {
          use owners;
        }
        """)
    refused("imported deny lock", mount("-I", "mods", "imported.fspol", "lower", "view"),
            "owners.fspol:2:3: error: fsrun cannot deny 'lock' alone",
            "imported.fspol:3:3: note: rule used here")
    mod_dir = mods
    write(os.path.join(mod_dir, "lib.fspol"), """
        module lib {
          allow read on "/**";
        }
        """)
    refused("module given as the policy", mount("mods/lib.fspol", "lower", "view"),
            "mods/lib.fspol:1:1: error: 'lib' is a module, not a policy")

    # -I, --users, and a warning that does not stop the mount.
    write(os.path.join(work, "users"), "alice:x:1234:1234::/:/bin/sh\n")
    write(os.path.join(work, "ok.fspol"), """
        import lib;
        policy ok {
          use lib;
          allow read on "/**/x" when uid == alice;
          option entry_timeout = 1h;
          option attr_timeout = 1h;
          option negative_timeout = 1h;
        }
        """)
    refused("without -I", mount("ok.fspol", "lower", "view"), "error:")
    refused("without --users", mount("-I", "mods", "ok.fspol", "lower", "view"),
            "unknown user 'alice'")
    r = mount("-I", "mods", "--users=users", "ok.fspol", "lower", "view", "-o", "cache=never")
    check.equal(r.returncode, 0, f"mount with -I and --users ({r.stderr.strip()})")
    check.check("warning:" in r.stderr and "[-Wshadowed]" in r.stderr,
                f"the shadowed rule is warned about: {r.stderr!r}")
    if r.returncode == 0:
        env.mounts.append(mnt)
        check.check(is_mounted(mnt), "relative MNT resolved from the working directory")
        status = env.status(mnt)
        check.check(f"lower: {lower}\n" in status, f"relative LOWER resolved: {status!r}")
        check.check("cache: never, entry 0s, attr 0s, negative 0s" in status,
                    f"cache=never wins over the policy's timeouts: {status!r}")
        with open(os.path.join(mnt, ".env")) as f:
            check.equal(f.read(), "SECRET=1\n", "the view serves the lower tree")
        env.umount(mnt)

    # An unprivileged daemon cannot act as other users: allow_other refused.
    r = mount("ok.fspol", "lower", "view", "-I", "mods", "--users=users", "-f", "-o",
              "allow_other", user=5)
    refused_text = "cannot act as other users"
    check.equal(r.returncode, 1, f"unprivileged allow_other: exit status ({r.stderr.strip()})")
    check.check(refused_text in r.stderr, f"unprivileged allow_other: says why: {r.stderr!r}")
    check.check(not is_mounted(mnt), "unprivileged allow_other: nothing mounted")
    check.finish()


if __name__ == "__main__":
    main()
