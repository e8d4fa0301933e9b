#!/usr/bin/env python3
"""Summarises a JFR recording of our proxy: the hottest frames, and the project frames above them.

Usage: benchmark/jfr_top.py FILE.jfr [--match TEXT]
Record one with: benchmark/run.sh --servers ours --java-opts='-XX:StartFlightRecording=filename=/tmp/ours.jfr,settings=profile,dumponexit=true'
Java samples (jdk.ExecutionSample) show CPU spent in Java code; native samples (jdk.NativeMethodSample)
show threads inside native methods, idle epoll waits included, so they are reported apart.
"""
import argparse
import collections
import json
import subprocess


def frames(event):
    trace = event["values"].get("stackTrace")
    if not trace:
        return []
    return [f["method"]["type"]["name"].replace("/", ".") + "." + f["method"]["name"] for f in trace["frames"]]


def short(name):
    parts = name.split(".")
    return ".".join(parts[-2:])


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("file")
    p.add_argument("--match", help="only samples with a frame containing TEXT")
    p.add_argument("--top", type=int, default=15)
    args = p.parse_args()
    for event_type in ("jdk.ExecutionSample", "jdk.NativeMethodSample"):
        out = subprocess.run(["jfr", "print", "--json", "--stack-depth", "64", "--events", event_type, args.file],
                             capture_output=True, text=True, check=True).stdout
        stacks = [s for s in (frames(e) for e in json.loads(out)["recording"]["events"]) if s]
        if args.match:
            stacks = [s for s in stacks if any(args.match in f for f in s)]
        if not stacks:
            continue
        self_time = collections.Counter(short(s[0]) for s in stacks)
        ours = collections.Counter(
            short(s[0]) + " <- " + " < ".join(short(f) for f in s if ".ociproxy." in f)[:300] for s in stacks)
        print(f"== {event_type}: {len(stacks)} samples")
        for name, n in self_time.most_common(args.top):
            print(f"{100 * n / len(stacks):5.1f}%  {name}")
        print(f"-- with the project frames above them")
        for name, n in ours.most_common(args.top):
            print(f"{100 * n / len(stacks):5.1f}%  {name}")
        print()


if __name__ == "__main__":
    main()
