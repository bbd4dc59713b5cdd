#!/usr/bin/env python3
"""fspol installed and used as a build step, from a temporary prefix.

argv: CMAKE BUILD_DIR SOURCE_DIR. Installs the build into a temporary
prefix (`cmake --install`), then:
  - the install tree holds the tools, the runtime library and headers,
    the stdlib, the ABI header, the CMake package and the pkg-config
    file, and no installed text file names the build tree;
  - the installed fsc finds the installed stdlib;
  - examples/consumer (its own policy and handler) configures with
    find_package(fspol) against the prefix, builds (fspol_add_policy
    compiles the policy) and, as root with FUSE, serves its view: the
    handler's capitals, a stdlib hide, a read-only subtree;
  - a bad policy fails the consumer's build with `file:line:col: error:`;
  - editing a module the policy imports compiles the policy again.
Prints the consumer's build time."""
import os
import shutil
import subprocess
import sys
import tempfile
import time

CMAKE, BUILD, SOURCE = sys.argv[1:4]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def consumer(work, name, policy_text=None, module=None):
    """A copy of examples/consumer in work/name (optionally with another
    policy, importing a local module), configured against the prefix."""
    src = os.path.join(work, name)
    shutil.copytree(os.path.join(SOURCE, "examples", "consumer"), src)
    if policy_text is not None:
        with open(os.path.join(src, "notes.fspol"), "w") as f:
            f.write(policy_text)
    if module is not None:
        os.mkdir(os.path.join(src, "mods"))
        with open(os.path.join(src, "mods", "local.fspol"), "w") as f:
            f.write(module)
        with open(os.path.join(src, "CMakeLists.txt")) as f:
            text = f.read()
        text = text.replace("fspol_add_policy(notes POLICY notes.fspol HANDLERS shout.cc)",
                            "fspol_add_policy(notes POLICY notes.fspol IMPORT_DIRS mods HANDLERS shout.cc)")
        with open(os.path.join(src, "CMakeLists.txt"), "w") as f:
            f.write(text)
    out = os.path.join(work, name + "-build")
    r = run([CMAKE, "-S", src, "-B", out, f"-DCMAKE_PREFIX_PATH={work}/prefix"])
    check(r.returncode == 0, f"{name}: configure: {r.stdout[-2000:]}{r.stderr[-2000:]}")
    return src, out


def build(out):
    return run([CMAKE, "--build", out, "-j2"])


def main():
    work = tempfile.mkdtemp(prefix="fspol-install-")
    mounts = []
    try:
        prefix = os.path.join(work, "prefix")
        r = run([CMAKE, "--install", BUILD, "--prefix", prefix])
        check(r.returncode == 0, f"cmake --install: {r.stderr}")
        files = sorted(os.path.relpath(os.path.join(d, f), prefix)
                       for d, _, fs in os.walk(prefix) for f in fs)
        for want in ("bin/fsc", "bin/fsrun", "sbin/mount.fspol", "lib/libfspol_runtime.a",
                     "lib/libfspol_compiler.a", "include/fspol/runtime/runtime.h",
                     "include/fspol/runtime/handler.h", "include/fspol/compiler.h",
                     "include/fspol/version.h", "include/fspol/kernel/fuse_bpf_abi.h",
                     "share/fspol/policies/hide_secrets.fspol", "lib/cmake/fspol/fspolConfig.cmake",
                     "lib/cmake/fspol/fspolConfigVersion.cmake", "lib/cmake/fspol/fspolPolicy.cmake",
                     "lib/cmake/fspol/fspolTargets.cmake", "lib/pkgconfig/fspol-runtime.pc",
                     "share/man/man1/fsc.1", "share/man/man5/fspol.5", "share/man/man8/fsrun.8",
                     "share/man/man8/mount.fspol.8", "share/bash-completion/completions/fsc",
                     "share/bash-completion/completions/fsrun"):
            check(want in files, f"installed: {want}")
        check(os.readlink(os.path.join(prefix, "sbin/mount.fspol")) == "../bin/fsrun",
              "mount.fspol links the installed fsrun")
        build_abs = os.path.realpath(BUILD)
        for rel in files:
            path = os.path.join(prefix, rel)
            if rel.endswith((".cmake", ".pc", ".h", ".fspol", ".def")) and not os.path.islink(path):
                with open(path, errors="replace") as f:
                    check(build_abs not in f.read(), f"{rel} names the build tree")
        print(f"install tree: {len(files)} files")

        # The installed fsc finds the installed stdlib (the depfile says which).
        deps = os.path.join(work, "deps")
        os.mkdir(deps)
        env = {k: v for k, v in os.environ.items() if k != "FSPOL_STDLIB_DIR"}
        r = run([os.path.join(prefix, "bin/fsc"), "compile", os.path.join(SOURCE, "examples/android-media.fspol"),
                 "--emit=ir", "-o", os.path.join(deps, "m.ir"), "--depfile=" + os.path.join(deps, "m.d")], env=env)
        check(r.returncode == 0, f"installed fsc compile: {r.stderr}")
        if r.returncode == 0:
            with open(os.path.join(deps, "m.d")) as f:
                check(os.path.join(prefix, "share/fspol/policies/android_app_private.fspol") in f.read(),
                      "the installed fsc imports from the installed stdlib")

        # The consumer example, built against the prefix.
        src, out = consumer(work, "consumer")
        started = time.time()
        r = build(out)
        took = time.time() - started
        check(r.returncode == 0, f"consumer build: {r.stdout[-3000:]}{r.stderr[-3000:]}")
        print(f"consumer example: configured and built in {took:.1f} s (build step)")
        view = os.path.join(out, "notes-view")
        if os.geteuid() != 0 or not os.path.exists("/dev/fuse"):
            print("SKIP: serving the consumer's view needs root and /dev/fuse")
        elif r.returncode == 0:
            lower, mnt = os.path.join(work, "lower"), os.path.join(work, "mnt")
            os.makedirs(os.path.join(lower, "archive"))
            os.makedirs(os.path.join(lower, ".ssh"))
            os.mkdir(mnt)
            for rel, text in (("a.shout", "hello\n"), ("archive/old.txt", "old\n"), (".ssh/id_rsa", "key\n")):
                with open(os.path.join(lower, rel), "w") as f:
                    f.write(text)
            log = open(os.path.join(work, "view.log"), "w")
            proc = subprocess.Popen([view, lower, mnt], stdout=log, stderr=subprocess.STDOUT)
            mounts.append((mnt, proc))
            deadline = time.time() + 20
            while time.time() < deadline and not os.path.ismount(mnt) and proc.poll() is None:
                time.sleep(0.05)
            check(os.path.ismount(mnt), "notes-view mounts its view")
            if os.path.ismount(mnt):
                with open(os.path.join(mnt, "a.shout")) as f:
                    check(f.read() == "HELLO\n", "the program's own handler serves .shout files")
                check(sorted(os.listdir(mnt)) == ["a.shout", "archive"], "the stdlib's hide_secrets hides .ssh")
                try:
                    with open(os.path.join(mnt, "archive/old.txt"), "a") as f:
                        f.write("x")
                    check(False, "the archive is read-only")
                except OSError as e:
                    check(e.errno == 30, f"the archive is read-only (EROFS): {e}")
                r = run([os.path.join(prefix, "bin/fsrun"), "umount", mnt])
                check(r.returncode == 0, f"fsrun umount: {r.stderr}")
                proc.wait(timeout=20)
                mounts.pop()
                check(proc.returncode == 0, f"notes-view exits 0 once unmounted: {proc.returncode}")

        # A policy with an error fails the build, located.
        bad = "policy notes {\n  hide \"/a\"\n}\n"
        _, bad_out = consumer(work, "bad", policy_text=bad)
        r = build(bad_out)
        text = r.stdout + r.stderr
        check(r.returncode != 0 and "notes.fspol:2:12: error: expected ';'" in text,
              f"a bad policy fails the build, located: {text[-1500:]}")

        # Editing an imported module compiles the policy again.
        module = "module local {\n  hide \"/one\";\n}\n"
        policy = "import local;\n\npolicy notes {\n  use local;\n  handle read on file \"/**/*.shout\" with shout;\n}\n"
        msrc, mout = consumer(work, "imports", policy_text=policy, module=module)
        r = build(mout)
        check(r.returncode == 0, f"consumer with a local module: {r.stdout[-2000:]}{r.stderr[-2000:]}")
        r = build(mout)
        check("fsc compile" not in r.stdout, "nothing changed: the policy is not compiled again")
        time.sleep(1.1)
        with open(os.path.join(msrc, "mods", "local.fspol"), "w") as f:
            f.write("module local {\n  hide \"/two\";\n}\n")
        r = build(mout)
        check(r.returncode == 0 and "fsc compile" in r.stdout,
              f"an edited module compiles the policy again: {r.stdout[-1500:]}")
    finally:
        for mnt, proc in mounts:
            subprocess.run(["umount", "-l", mnt], capture_output=True)
            proc.kill()
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        print(f"{len(failures)} checks failed")
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
