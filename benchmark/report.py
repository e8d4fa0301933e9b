"""Collects the runs of every measurement and prints medians with ours/distribution and ours/nginx ratios."""
import json
import os
import platform
import statistics
import subprocess

COLUMNS = ["direct", "ours", "distribution", "nginx"]

# key, label, unit, which way is better
METRICS = [
    ("cold_blob", "cold blob pull (cache miss)", "MB/s", "high"),
    ("cold_blob_x8", "8 concurrent cold pulls, same blob (aggregate)", "MB/s", "high"),
    ("warm_blob", "warm blob pull (cache hit)", "MB/s", "high"),
    ("warm_blob_x8", "8 concurrent warm pulls (aggregate)", "MB/s", "high"),
    ("manifest_tag_rps", "manifest by tag, 32 conns", "req/s", "high"),
    ("manifest_tag_p50", "  manifest by tag p50", "ms", "low"),
    ("manifest_tag_p99", "  manifest by tag p99", "ms", "low"),
    ("manifest_digest_rps", "manifest by digest, 32 conns", "req/s", "high"),
    ("manifest_digest_p50", "  manifest by digest p50", "ms", "low"),
    ("manifest_digest_p99", "  manifest by digest p99", "ms", "low"),
    ("skopeo_big_warm", "skopeo pull, big image, warm", "s", "low"),
    ("skopeo_small_cold", "skopeo pull, many-layer image, cold", "s", "low"),
    ("skopeo_small_warm", "skopeo pull, many-layer image, warm", "s", "low"),
    ("cold_cpu", "server CPU per cold pull", "s", "low"),
    ("cold_upstream_read", "upstream reads per cold pull", "MB", "low"),
    ("warm_cpu", "server CPU per warm pull", "s", "low"),
    ("first_answer", "first minute: start to first answer", "s", "low"),
    ("first_ready", "first minute: start to ready (/readyz 200)", "s", "low"),
    ("first_answer_image", "first minute: image, `docker run` to first answer", "s", "low"),
    ("first_answer_image_started", "  image, container started to first answer", "s", "low"),
    ("first_ready_image", "  image, `docker run` to ready", "s", "low"),
    ("first_cold_blob", "first minute: first cold pull after start", "MB/s", "high"),
    ("first_burst_rps", "first minute: first 3 s of manifests, 32 conns", "req/s", "high"),
    ("first_burst_p50", "  first 3 s of manifests p50", "ms", "low"),
    ("first_burst_p99", "  first 3 s of manifests p99", "ms", "low"),
    ("peak_rss", "peak RSS (VmHWM, whole run)", "MiB", "low"),
    ("shared_cold_blob", "shared store: cold pull through replica A", "MB/s", "high"),
    ("shared_store_blob", "shared store: then replica B, from the store", "MB/s", "high"),
    ("shared_store_cpu", "  replica B's CPU for it", "s", "low"),
    ("shared_local_blob", "shared store: then B again, its local tier", "MB/s", "high"),
    ("shared_x8", "3 replicas: 8 concurrent cold pulls (aggregate)", "MB/s", "high"),
    ("shared_x8_upstream_read", "3 replicas: upstream reads for those 8 pulls", "MB", "low"),
    ("shared_x8_cpu", "  the three replicas' CPU for them", "s", "low"),
]
SHARED = [key for key, *_ in METRICS if key.startswith("shared_")]
IMAGE = [key for key, *_ in METRICS if key.endswith(("_image", "_image_started"))]


class Results:
    """Every run's value per (metric, server), plus notes about anything that went wrong."""

    def __init__(self, planned_runs, only=None, leave_out=()):
        # the rows this run has
        self.metrics = [m for m in METRICS if (only is None or m[0] in only) and m[0] not in leave_out]
        self.planned = {key: 1 if key == "peak_rss" else planned_runs for key, *_ in self.metrics}
        self.runs = {key: {} for key, *_ in self.metrics}
        self.notes = []
        self.skipped = {}  # server -> reason

    def add(self, metric, server, value):
        self.runs[metric].setdefault(server, []).append(value)

    def note(self, text):
        if text not in self.notes:
            self.notes.append(text)

    def median(self, metric, server):
        values = self.runs[metric].get(server)
        return statistics.median(values) if values else None

    def as_dict(self, machine, settings):
        metrics = {}
        for key, label, unit, better in self.metrics:
            entry = {"label": label.strip(), "unit": unit, "better": better, "servers": {}}
            for server in COLUMNS:
                if server in self.runs[key]:
                    entry["servers"][server] = {"median": self.median(key, server), "runs": self.runs[key][server]}
            entry["ours_over_distribution"] = _ratio(self.median(key, "ours"), self.median(key, "distribution"))
            entry["ours_over_nginx"] = _ratio(self.median(key, "ours"), self.median(key, "nginx"))
            metrics[key] = entry
        return {"machine": machine, "settings": settings, "skipped": self.skipped,
                "metrics": metrics, "notes": self.notes}

    def table(self):
        header = ["metric", "unit", "best", *COLUMNS, "ours/dist", "ours/nginx"]
        rows = [header]
        for key, label, unit, better in self.metrics:
            row = [label, unit, better]
            for server in COLUMNS:
                row.append(self._cell(key, server))
            row.append(_fmt_ratio(_ratio(self.median(key, "ours"), self.median(key, "distribution"))))
            row.append(_fmt_ratio(_ratio(self.median(key, "ours"), self.median(key, "nginx"))))
            rows.append(row)
        widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
        lines = []
        for n, row in enumerate(rows):
            cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1]), row[2].ljust(widths[2])]
            cells += [c.rjust(w) for c, w in zip(row[3:], widths[3:])]
            lines.append("| " + " | ".join(cells) + " |")
            if n == 0:
                lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
        return "\n".join(lines)


    def _cell(self, key, server):
        """The median; marked (k/n) when only k of the n planned runs produced a value."""
        if server in self.skipped:
            return "skipped"
        got = len(self.runs[key].get(server, []))
        if got and got < self.planned[key]:
            return f"({got}/{self.planned[key]}) {_fmt(self.median(key, server))}"
        return _fmt(self.median(key, server))


def _ratio(a, b):
    return a / b if a is not None and b else None


def _fmt(v):
    if v is None:
        return "-"
    if v >= 100:
        return f"{v:.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def _fmt_ratio(r):
    return "-" if r is None else f"{r:.2f}x"


def machine_description():
    """CPU, memory, kernel and the versions of every program the benchmark runs."""

    def first_line(cmd):
        try:
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
            return (res.stdout or res.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "?"

    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kib = int(f.readline().split()[1])
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "kernel": platform.release(),
        "os": first_line(["sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"]),
        "java": first_line(["java", "-version"]),
        "docker-registry": first_line(["docker-registry", "--version"]),
        "nginx": first_line(["nginx", "-v"]),
        "curl": first_line(["curl", "--version"]).split(" (")[0],
        "wrk": first_line(["wrk", "-v"]).split(" Copyright")[0],
        "skopeo": first_line(["skopeo", "--version"]),
    }


def write_json(path, data):
    with open(path, "w") as f:
        json.dump(data, f, indent=2)
        f.write("\n")
