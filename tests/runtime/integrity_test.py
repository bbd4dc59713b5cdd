#!/usr/bin/env python3
"""Data integrity: a seeded random sequence of writes, appends, truncates,
reopens, mmap reads and reads through the view, every read checked against
an in-memory model, then every file compared with the lower tree.

usage: integrity_test.py [MOUNT_OPTIONS] [--ops N] [--seed S]
"""
import argparse
import mmap
import os
import random

from fsrun_env import Checker, Env

MAX_SIZE = 8 << 20


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("options", nargs="?")
    ap.add_argument("--ops", type=int, default=4000)
    # A fixed default keeps CI deterministic; FSPOL_SEED=random explores.
    seed = os.environ.get("FSPOL_SEED", "1")
    ap.add_argument("--seed", type=int, default=int.from_bytes(os.urandom(4), "little")
                    if seed == "random" else int(seed))
    args = ap.parse_args()
    print(f"seed {args.seed} (rerun with --seed {args.seed})")
    rng = random.Random(args.seed)
    env = Env("integrity")
    check = Checker(env)
    lower = env.path("lower")
    os.mkdir(lower)
    mnt = os.path.join(env.work, "mnt")
    env.mount(lower, mnt, args.options)
    env.require_transport(mnt, args.options)

    names = [f"file{i}" for i in range(6)]
    model = {n: bytearray() for n in names}
    fds = {}

    def fd_of(name):
        if name not in fds:
            fds[name] = os.open(os.path.join(mnt, name), os.O_RDWR | os.O_CREAT, 0o644)
        return fds[name]

    for step in range(args.ops):
        name = rng.choice(names)
        m = model[name]
        op = rng.random()
        if op < 0.35:
            off = rng.randrange(0, MAX_SIZE - (256 << 10))
            data = rng.randbytes(rng.choice([1, 100, 4096, 4097, 65536, 200000]))
            os.pwrite(fd_of(name), data, off)
            if off > len(m):
                m.extend(b"\0" * (off - len(m)))
            m[off:off + len(data)] = data
        elif op < 0.45:
            data = rng.randbytes(rng.randrange(1, 10000))
            afd = os.open(os.path.join(mnt, name), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            os.write(afd, data)
            os.close(afd)
            m.extend(data)
        elif op < 0.52:
            size = rng.randrange(0, MAX_SIZE)
            path = os.path.join(mnt, name)
            if os.path.exists(path):
                os.truncate(path, size)
                if size < len(m):
                    del m[size:]
                else:
                    m.extend(b"\0" * (size - len(m)))
        elif op < 0.60:
            if name in fds:
                os.close(fds.pop(name))
        elif op < 0.65 and len(m) > 0:
            with open(os.path.join(mnt, name), "rb") as f:
                with mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ) as mm:
                    off = rng.randrange(0, len(m))
                    got = mm[off:off + 5000]
            if got != bytes(m[off:off + 5000]):
                check.check(False, f"step {step}: mmap read of {name} at {off} differs")
        else:
            if not os.path.exists(os.path.join(mnt, name)):
                continue
            off = rng.randrange(0, max(1, len(m) + 1000))
            n = rng.choice([1, 4096, 65536, 1 << 20])
            got = os.pread(fd_of(name), n, off)
            if got != bytes(m[off:off + n]):
                check.check(False, f"step {step}: read of {name} [{off}, +{n}) differs "
                                   f"(got {len(got)} bytes, want {len(m[off:off + n])})")
                break
    for fd in fds.values():
        os.close(fd)
    for name in names:
        path = os.path.join(mnt, name)
        if not os.path.exists(path):
            continue
        with open(path, "rb") as f:
            check.check(f.read() == bytes(model[name]), f"final content of {name} in the view")
        with open(os.path.join(lower, name), "rb") as f:
            check.check(f.read() == bytes(model[name]), f"final content of {name} in the lower tree")
    check.check(True, f"{args.ops} random operations")
    env.umount(mnt, env.procs[-1])
    check.finish()


if __name__ == "__main__":
    main()
