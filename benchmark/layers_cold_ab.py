#!/usr/bin/env python3
"""Cold skopeo pulls of fresh many-layer images, for comparing builds of our proxy beside nginx.

    benchmark/layers_cold_ab.py old=/tmp/old.jar new=proxy-server/target/registry-proxy.jar
    benchmark/layers_cold_ab.py a=x.jar b=x.jar:-Dsome.flag=1 --rounds 14

Each NAME=JAR[:OPT...] starts one proxy with the README's options (its class-data archive from
beside the jar) plus the options, as in cold_ab.py; nginx runs beside them. Every server first pulls the warm 64-layer image
twice, then each round pulls one never-seen 64-layer image through each server in a rotated
order (with --warm, the warm image again). Round 0 is not counted. Prints each server's median pull time and CPU seconds per pull,
and each proxy's ratio to nginx. A tool for a quick A/B while profiling; the full benchmark is
run.sh.
"""
import argparse
import os
import shutil
import statistics
import sys
import tempfile

import measure
import servers
from bench import README_JAVA_OPTS
from cold_ab import our_proxy
from images import ImageSet


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("proxies", nargs="+", metavar="NAME=JAR[:OPT...]")
    p.add_argument("--rounds", type=int, default=10, help="counted rounds (default 10)")
    p.add_argument("--layers", type=int, default=64, help="layers per image (default 64)")
    p.add_argument("--warm", action="store_true",
                   help="pull the image every server already holds in every round instead (warm pulls)")
    args = p.parse_args(argv)
    work = tempfile.mkdtemp(prefix="layers-cold-ab-")
    try:
        up = servers.Upstream(work)
        up.start()
        imgs = ImageSet(16, args.layers, 0, 0 if args.warm else (len(args.proxies) + 1) * (args.rounds + 1))
        imgs.generate_and_push(work, up.host, lambda m: None)
        named = dict(our_proxy(work, up, spec, README_JAVA_OPTS.split()) for spec in args.proxies)
        named["nginx"] = servers.NginxCache(work, up)
        order = list(named.items())
        for name, s in order:
            s.start()
            for _ in range(2):
                measure.skopeo_pull(s.image_ref(*imgs.small[:2]), _dest(name))
        cold = list(imgs.small_cold)
        took = {n: [] for n in named}
        cpu = {n: [] for n in named}
        for r in range(args.rounds + 1):
            k = r % len(order)
            for name, s in order[k:] + order[:k]:
                repo, tag, _ = imgs.small if args.warm else cold.pop()
                c0 = s.cpu_seconds()
                t = measure.skopeo_pull(s.image_ref(repo, tag), _dest(name))
                if r > 0:
                    took[name].append(t)
                    cpu[name].append(s.cpu_seconds() - c0)
            print(f"round {r}: " + ", ".join(f"{n} {v[-1]:.3f} s" for n, v in took.items() if v), flush=True)
        for n in named:
            print(f"{n}: median {statistics.median(took[n]):.3f} s, CPU {statistics.median(cpu[n]):.3f} s per pull")
        for n in named:
            if n != "nginx":
                print(f"{n}/nginx: {statistics.median(took[n]) / statistics.median(took['nginx']):.2f}")
    finally:
        servers.stop_all()
        shutil.rmtree(work, ignore_errors=True)


def _dest(name):
    return f"/dev/shm/layers-cold-ab-{os.getpid()}-{name}"


if __name__ == "__main__":
    main(sys.argv[1:])
