#!/usr/bin/env python3
"""The Debian package, built from this build tree and checked.

argv: CPACK BUILD_DIR SOURCE_DIR. Runs `cpack -G DEB` on the build tree
(cmake/Packaging.cmake; the staging and the .deb go to a temporary
directory), then:
  - the file is fspol_<Version>_amd64.deb, <Version> starting with the
    project's version; the control file has its maintainer, section,
    priority and description;
  - Depends names fuse3 and the package of every shared library the
    tools link directly (dpkg-shlibdeps ran);
  - lintian reports no E: line (W: and I: lines are listed, overrides
    shown);
  - the copyright file, a gzip -9n'd changelog.Debian.gz and gzip -9n'd
    man pages are there; mount.fspol links ../bin/fsrun; the pkg-config
    file names /usr; no text file names the build tree or /usr/local;
  - unpacked with `dpkg-deb -x`, usr/bin/fsc checks every example, imports
    the stdlib from the unpacked usr/share/fspol/policies (its depfile
    says so), and usr/bin/fsrun --help answers.
Prints the package's size and its Depends line. Exits 77 (skip, saying
why) when lintian, dpkg-deb or dpkg-shlibdeps is missing."""
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

SKIP = 77
CPACK, BUILD, SOURCE = sys.argv[1:4]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)
    return cond


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def project_version():
    with open(os.path.join(BUILD, "CMakeCache.txt")) as f:
        for line in f:
            if line.startswith("CMAKE_PROJECT_VERSION:"):
                return line.split("=", 1)[1].strip()
    return None


def field(deb, name):
    r = run(["dpkg-deb", "-f", deb, name])
    return r.stdout.strip() if r.returncode == 0 else ""


def depends_names(depends):
    """Package names in a Depends value (alternatives included)."""
    names = set()
    for clause in depends.split(","):
        for alt in clause.split("|"):
            alt = alt.strip()
            if alt:
                names.add(re.split(r"[\s(:]", alt, maxsplit=1)[0])
    return names


def owning_package(path):
    """The installed package holding a shared library (usrmerge: both
    spellings of the path are tried)."""
    candidates = [path, os.path.realpath(path)]
    for p in list(candidates):
        if p.startswith("/usr/lib/"):
            candidates.append(p[4:])
        elif p.startswith("/lib/"):
            candidates.append("/usr" + p)
    for p in candidates:
        r = run(["dpkg-query", "-S", p])
        if r.returncode == 0 and r.stdout:
            return r.stdout.split(":", 1)[0].split(",")[0].strip()
    return None


def direct_libraries(binary):
    """soname -> path for the libraries `binary` names in DT_NEEDED."""
    r = run(["readelf", "-d", binary])
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", r.stdout)
    resolved = {}
    for line in run(["ldd", binary]).stdout.splitlines():
        m = re.match(r"\s*(\S+) => (\S+)", line)
        if m:
            resolved[m.group(1)] = m.group(2)
    return {soname: resolved.get(soname) for soname in needed}


def gzip_n(path):
    """True if path is gzip with no name and no time stamp (gzip -n)."""
    with open(path, "rb") as f:
        head = f.read(10)
    return head[:2] == b"\x1f\x8b" and not head[3] & 0x08 and head[4:8] == b"\0\0\0\0"


def main():
    for tool, package in (("lintian", "lintian"), ("dpkg-deb", "dpkg"),
                          ("dpkg-shlibdeps", "dpkg-dev")):
        if shutil.which(tool) is None:
            print(f"SKIP: {tool} missing (Debian package {package}; scripts/setup.sh installs it)")
            return SKIP
    version = project_version()
    work = tempfile.mkdtemp(prefix="fspol-deb-")
    try:
        out = os.path.join(work, "out")
        r = run([CPACK, "-G", "DEB", "-B", out], cwd=BUILD)
        print(r.stdout.strip())
        debs = glob.glob(os.path.join(out, "*.deb"))
        if not check(r.returncode == 0 and len(debs) == 1, f"cpack -G DEB: {r.stdout[-3000:]}{r.stderr[-3000:]}"):
            return 1
        deb = debs[0]

        # The control file.
        deb_version = field(deb, "Version")
        check(os.path.basename(deb) == f"fspol_{deb_version}_amd64.deb",
              f"package file name {os.path.basename(deb)} is fspol_<Version>_amd64.deb")
        check(version is not None and deb_version.startswith(version + "-"),
              f"Version {deb_version} is the project's {version} plus a Debian revision")
        for name, want in (("Package", "fspol"), ("Architecture", "amd64"), ("Section", "utils"),
                           ("Priority", "optional")):
            check(field(deb, name) == want, f"{name}: {field(deb, name)!r}, want {want!r}")
        check(re.match(r".+ <[^@\s]+@[^@\s]+>$", field(deb, "Maintainer")) is not None,
              f"Maintainer: {field(deb, 'Maintainer')!r}")
        description = field(deb, "Description").splitlines()
        check(len(description) > 2, "Description has a synopsis and a long description")
        depends = field(deb, "Depends")
        size = os.path.getsize(deb)
        print(f"package: {os.path.basename(deb)}, {size} bytes ({size / 2**20:.1f} MiB), "
              f"Installed-Size: {field(deb, 'Installed-Size')} KiB")
        print(f"Depends: {depends}")
        names = depends_names(depends)
        check("fuse3" in names, "Depends names fuse3 (fusermount3)")

        # Lint.
        r = run(["lintian", "--display-info", "--show-overrides", deb])
        hints = [line for line in (r.stdout + r.stderr).splitlines() if re.match(r"^[EWIPXO]: ", line)]
        print("lintian:" if hints else "lintian: no tags")
        for line in hints:
            print("  " + line)
        errors = [line for line in hints if line.startswith("E: ")]
        check(not errors, f"lintian errors: {errors}")
        # Non-zero without an E: line: lintian itself failed.
        check(r.returncode == 0 or errors, f"lintian exit {r.returncode}: {r.stderr[-1000:]}")

        # The tree.
        root = os.path.join(work, "root")
        r = run(["dpkg-deb", "-x", deb, root])
        if not check(r.returncode == 0, f"dpkg-deb -x: {r.stderr}"):
            return 1
        usr = os.path.join(root, "usr")
        files = sorted(os.path.relpath(os.path.join(d, f), root)
                       for d, dirs, fs in os.walk(root) for f in fs + [x for x in dirs
                                                                    if os.path.islink(os.path.join(d, x))])
        print(f"package tree: {len(files)} files")
        check(all(f.startswith("usr/") for f in files), "everything lives under /usr")
        for want in ("usr/bin/fsc", "usr/bin/fsrun", "usr/sbin/mount.fspol",
                     "usr/share/doc/fspol/copyright", "usr/share/doc/fspol/changelog.Debian.gz",
                     "usr/share/fspol/policies/hide_secrets.fspol",
                     "usr/share/man/man1/fsc.1.gz", "usr/share/man/man5/fspol.5.gz",
                     "usr/share/man/man8/fsrun.8.gz", "usr/share/man/man8/mount.fspol.8.gz",
                     "usr/lib/libfspol_runtime.a", "usr/lib/cmake/fspol/fspolConfig.cmake",
                     "usr/share/bash-completion/completions/fsc",
                     "usr/share/lintian/overrides/fspol"):
            check(want in files, f"packaged: /{want}")
        check(os.path.islink(os.path.join(usr, "sbin/mount.fspol"))
              and os.readlink(os.path.join(usr, "sbin/mount.fspol")) == "../bin/fsrun",
              "/usr/sbin/mount.fspol links ../bin/fsrun")
        pages = [f for f in files if f.startswith("usr/share/man/")]
        check(pages and all(f.endswith(".gz") for f in pages), f"man pages are gzipped: {pages}")
        for f in pages + ["usr/share/doc/fspol/changelog.Debian.gz"]:
            path = os.path.join(root, f)
            if os.path.isfile(path) and not os.path.islink(path):
                check(gzip_n(path), f"/{f} is gzip -n (no name, no time stamp)")
        link = os.path.join(usr, "share/man/man8/mount.fspol.8.gz")
        check(os.path.exists(link), "mount.fspol(8) resolves to a page in the package")
        changelog = run(["zcat", os.path.join(usr, "share/doc/fspol/changelog.Debian.gz")]).stdout
        check(changelog.startswith(f"fspol ({deb_version}) "), "changelog.Debian names the package's version")
        pcs = [f for f in files if f.endswith(".pc")]
        check(len(pcs) == 1, f"one pkg-config file: {pcs}")
        for pc in pcs:
            with open(os.path.join(root, pc)) as f:
                check("prefix=/usr\n" in f.read(), f"/{pc} says prefix=/usr")
        build_abs = os.path.realpath(BUILD)
        for f in files:
            path = os.path.join(root, f)
            if os.path.islink(path) or f.endswith((".gz", ".a")) or f.startswith(("usr/bin/", "usr/sbin/")):
                continue
            with open(path, errors="replace") as fh:
                text = fh.read()
            check(build_abs not in text, f"/{f} names the build tree")
            check("/usr/local" not in text, f"/{f} names /usr/local")

        # Depends covers every library the tools link directly.
        for tool in ("usr/bin/fsc", "usr/bin/fsrun"):
            for soname, path in direct_libraries(os.path.join(root, tool)).items():
                if not check(path is not None, f"{tool}: {soname} resolves on this system"):
                    continue
                package = owning_package(path)
                check(package is not None and package in names,
                      f"{tool} links {soname} ({package}); Depends names it")

        # The unpacked tools.
        env = {k: v for k, v in os.environ.items() if k != "FSPOL_STDLIB_DIR"}
        fsc = os.path.join(usr, "bin/fsc")
        examples = sorted(glob.glob(os.path.join(SOURCE, "examples", "*.fspol")))
        r = run([fsc, "check", *examples], env=env)
        check(r.returncode == 0, f"unpacked fsc check examples/*.fspol: {r.stdout}{r.stderr}")
        print(f"unpacked fsc check: {len(examples)} examples, exit {r.returncode}")
        policy = os.path.join(SOURCE, "examples", "readonly-secrets.fspol")
        depfile = os.path.join(work, "policy.d")
        r = run([fsc, "compile", policy, "--emit=ir", "-o", os.path.join(work, "policy.ir"),
                 "--depfile=" + depfile], env=env)
        check(r.returncode == 0, f"unpacked fsc compile readonly-secrets: {r.stderr}")
        if r.returncode == 0:
            with open(depfile) as f:
                deps = f.read()
            stdlib = os.path.join(usr, "share/fspol/policies")
            for module in ("read_only", "hide_secrets", "hide_dotfiles"):
                check(os.path.join(stdlib, module + ".fspol") in deps,
                      f"the unpacked fsc imports {module} from the unpacked stdlib: {deps}")
        r = run([os.path.join(usr, "bin/fsrun"), "--help"])
        check(r.returncode == 0 and r.stdout.startswith("usage: fsrun mount"),
              f"unpacked fsrun --help: {r.returncode} {r.stdout[:200]}{r.stderr}")
        r = run([os.path.join(usr, "sbin/mount.fspol"), "--help"])
        check(r.returncode == 0 and "mount.fspol LOWER MNT" in r.stdout,
              f"unpacked mount.fspol --help: {r.returncode} {r.stderr}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        print(f"{len(failures)} checks failed")
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
