#!/usr/bin/env python3
"""SSH through the daemon's tunnel against OpenSSH straight to the same sshd, same run:
`ssh ID true` round trips (targets: relay <= 1.5x direct) and scp of 256 MiB into the
machine (target: relay throughput >= 0.7x direct). Direct means the machine's network
address from the host, with the same certificate and host CA; the relay is
ProxyCommand='nullspace ssh-proxy %h' over the API port.

    bench/ssh/run.py [--rounds N] [--mib M]
"""

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from lib import BUILD, Daemon, pct, summary  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--mib", type=int, default=256)
    a = ap.parse_args()
    d = Daemon()
    tmp = tempfile.mkdtemp(prefix="ns-bench-ssh-")
    try:
        m = d.call("POST", "/v1/machines", {"timeout_s": 3600})
        mid, addr = m["id"], m["network"]["address"]
        env = dict(os.environ, NULLSPACE_API_URL="http://%s:%d" % (d.host, d.port),
                   NULLSPACE_API_KEY=d.key, HOME=tmp, XDG_CONFIG_HOME=tmp)
        out = subprocess.run([os.path.join(BUILD, "nullspace"), "ssh", mid, "--print",
                              "--ttl-s", "3600"], env=env, capture_output=True, text=True,
                             check=True).stdout
        argv = shlex.split(out)
        relay_opts = argv[1:-1] + ["-o", "BatchMode=yes"]
        direct_opts = [o for o in relay_opts if not o.startswith("ProxyCommand=")]
        direct_opts = [x for i, x in enumerate(direct_opts)
                       if not (x == "-o" and i + 1 < len(direct_opts) and
                               direct_opts[i + 1] == "-o")]
        direct_opts += ["-o", "HostKeyAlias=" + mid]
        relay = ["root@" + mid]
        direct = ["root@" + addr]

        def ssh(opts, dest, *cmd):
            r = subprocess.run(["ssh"] + opts + dest + list(cmd), env=env, capture_output=True)
            if r.returncode != 0:
                raise RuntimeError(r.stderr.decode())

        ssh(relay_opts, relay, "true")  # sshd set up, package fetched
        rt = {"relay": [], "direct": []}
        for _ in range(a.rounds):
            for name, opts, dest in (("relay", relay_opts, relay), ("direct", direct_opts,
                                                                    direct)):
                t0 = time.monotonic()
                ssh(opts, dest, "true")
                rt[name].append((time.monotonic() - t0) * 1000)
        print(summary("ssh ID true (relay)", rt["relay"]))
        print(summary("ssh ADDR true (direct)", rt["direct"]))
        print("round trip ratio relay/direct p50: %.2fx" %
              (pct(rt["relay"], 50) / pct(rt["direct"], 50)))
        src = os.path.join(tmp, "big")
        with open(src, "wb") as f:
            for _ in range(a.mib):
                f.write(os.urandom(1 << 20))
        tp = {}
        for name, opts, dest in (("direct", direct_opts, direct), ("relay", relay_opts, relay),
                                 ("direct", direct_opts, direct), ("relay", relay_opts, relay)):
            t0 = time.monotonic()
            r = subprocess.run(["scp", "-q"] + opts + [src, dest[0] + ":/tmp/big"], env=env,
                               capture_output=True)
            if r.returncode != 0:
                raise RuntimeError(r.stderr.decode())
            tp.setdefault(name, []).append(a.mib / (time.monotonic() - t0))
        for name in ("relay", "direct"):
            print("scp %d MiB (%s): %s MiB/s" % (a.mib, name,
                                                 ", ".join("%.0f" % x for x in tp[name])))
        print("throughput ratio relay/direct (best of 2): %.2fx" %
              (max(tp["relay"]) / max(tp["direct"])))
    finally:
        d.stop()
        subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    main()
