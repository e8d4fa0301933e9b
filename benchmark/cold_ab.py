#!/usr/bin/env python3
"""Cold single pulls only, for comparing builds of our proxy side by side in one run.

    benchmark/cold_ab.py old=/tmp/old.jar new=proxy-server/target/registry-proxy.jar
    benchmark/cold_ab.py a=x.jar:-Dprop=1 b=x.jar:-Dprop=2 --others distribution --runs 7
    benchmark/cold_ab.py direct=x.jar buffered=x.jar:cache.directWrites=false
    benchmark/cold_ab.py a=x.jar b=y.jar --concurrent 8     # 8 clients on each cold blob

Each NAME=JAR[:OPT...] starts one proxy (with the README's heap bounds plus the options: JVM
options, or cache.KEY=VALUE for a key of the config's cache section);
distribution and nginx run beside them unless --others says otherwise. After --warmup fresh 64 MiB
blobs through every server (our JIT's steady state), every repetition pushes one
fresh blob to the upstream, pulls it once directly (so the upstream serves it from the page cache),
then once through each server in a rotated order, each cold pull followed at once by a second pull
(the first warm one: from wherever the cold pull left the blob, page cache or disk). Prints each
server's median MB/s and CPU seconds per cold pull, and its median first-warm MB/s. A tool for a quick A/B while profiling; the full benchmark is run.sh.
"""
import argparse
import hashlib
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

import measure
import servers

MIB = 1 << 20


def push_blob(upstream, repo, data):
    """Monolithic upload (POST then PUT with the digest); returns the digest."""
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    post = urllib.request.Request(f"http://{upstream.host}/v2/{repo}/blobs/uploads/", method="POST", data=b"")
    with urllib.request.urlopen(post) as r:
        loc = r.headers["Location"]
    if loc.startswith("/"):
        loc = f"http://{upstream.host}{loc}"
    sep = "&" if "?" in loc else "?"
    put = urllib.request.Request(f"{loc}{sep}digest={digest}", method="PUT", data=data,
                                 headers={"Content-Type": "application/octet-stream"})
    urllib.request.urlopen(put).close()
    return digest


def our_proxy(work, upstream, spec, base_opts=("-Xms32m", "-Xmx512m")):
    """NAME=JAR[:OPT...] -> (NAME, OurProxy); an option starts with '-' (JVM) or 'cache.' (config),
    so a JVM option may itself hold colons (-XX:+UseParallelGC, -XX:-UseParallelGC, -Xlog:gc:file=F)."""
    name, rest = spec.split("=", 1)
    jar, *opts = re.split(r"(?<!-XX):(?=-|cache\.)", rest)
    jvm = [o for o in opts if not o.startswith("cache.")]
    cache = dict(o[len("cache."):].split("=", 1) for o in opts if o.startswith("cache."))
    return name, servers.OurProxy(os.path.join(work, name), upstream, jar, [*base_opts, *jvm], "WARN", cache)


def other_servers(work, upstream, names):
    """The comparison servers named in a comma-separated list (distribution, nginx), not started."""
    wanted = [n for n in names.split(",") if n]
    out = []
    if "distribution" in wanted:
        out.append(("distribution", servers.DistributionProxy(work, upstream)))
    if "nginx" in wanted:
        out.append(("nginx", servers.NginxCache(work, upstream)))
    return out


def main(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("ours", nargs="+", metavar="NAME=JAR[:OPT...]")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--concurrent", type=int, default=1,
                   help="clients pulling each cold blob at once (aggregate MB/s)")
    p.add_argument("--blob-mib", type=int, default=256)
    p.add_argument("--others", default="distribution,nginx", help="comma-separated; '' for none")
    p.add_argument("--warmup", type=int, default=4,
                   help="fresh 64 MiB blobs pulled cold through every server first (JIT steady state)")
    args = p.parse_args(argv)
    work = tempfile.mkdtemp(prefix="cold-ab-")
    size = args.blob_mib * MIB
    try:
        up = servers.Upstream(work)
        up.start()
        started = []
        for spec in args.ours:
            name, s = our_proxy(work, up, spec)
            started.append((name, s))
        started += other_servers(work, up, args.others)
        for _, s in started:
            s.start()
        for i in range(args.warmup):  # the cold path's JIT warm-up for ours; the same for everyone
            warm = push_blob(up, f"bench/warm{i}", os.urandom(64 * MIB))
            for _, s in started:
                measure.blob_pull(s.blob_url(f"bench/warm{i}", warm), 64 * MIB)
        speed = {name: [] for name, _ in started}
        cpu = {name: [] for name, _ in started}
        first_warm = {name: [] for name, _ in started}
        direct = []
        for r in range(args.runs):
            digest = push_blob(up, f"bench/cold{r}", os.urandom(size))
            direct.append(measure.blob_pull(up.blob_url(f"bench/cold{r}", digest), size))
            k = r % len(started)
            for name, s in started[k:] + started[:k]:
                subprocess.run(["sync"], check=False)
                before = s.cpu_seconds()
                url = s.blob_url(f"bench/cold{r}", digest)
                speed[name].append(measure.blob_pull(url, size) if args.concurrent == 1
                                   else measure.concurrent_blob_pulls(url, size, args.concurrent))
                time.sleep(0.3)
                cpu[name].append(s.cpu_seconds() - before)
                first_warm[name].append(measure.blob_pull(s.blob_url(f"bench/cold{r}", digest), size))
            print(f"run {r + 1}/{args.runs}: direct {direct[-1]:.0f} "
                  + " ".join(f"{n} {v[-1]:.0f}" for n, v in speed.items()), flush=True)
        print(f"\n{'server':14} {'MB/s':>6} {'CPU s':>6} {'1st warm':>8}  all runs (MB/s)")
        print(f"{'direct':14} {statistics.median(direct):6.0f}")
        for name in speed:
            print(f"{name:14} {statistics.median(speed[name]):6.0f} {statistics.median(cpu[name]):6.2f} "
                  f"{statistics.median(first_warm[name]):8.0f}  {[round(v) for v in speed[name]]}")
    finally:
        servers.stop_all()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
