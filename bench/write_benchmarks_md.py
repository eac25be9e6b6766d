#!/usr/bin/env python3
"""Turns Google Benchmark JSON files into BENCHMARKS.md (median of the
repetitions), with the machine the run was made on."""
import json
import re
import os
import platform
import subprocess
import sys


def machine():
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            kb = int(f.readline().split()[1])
            mem = f"{kb / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    gcc = subprocess.run(["g++", "--version"], capture_output=True, text=True).stdout.splitlines()
    osr = ""
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    osr = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} vCPU, {mem}, {osr}, Linux {platform.release()}, "
            f"{gcc[0] if gcc else 'g++'}")


# Fields every Google Benchmark entry has; the rest are a benchmark's own counters.
STANDARD_KEYS = {
    "name", "family_index", "per_family_instance_index", "run_name", "run_type", "repetitions",
    "repetition_index", "threads", "iterations", "real_time", "cpu_time", "time_unit",
    "aggregate_name", "aggregate_unit", "error_occurred", "error_message", "label",
    "bytes_per_second", "items_per_second",
}


def fmt_time(ns):
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} µs"
    return f"{ns:.2f} ns"


def to_ns(value, unit):
    return value * {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[unit]


def fmt_bytes(n):
    return f"{int(n):,}"


def delta_section(data):
    """bench_delta: one size table (counters, bytes) and the rebuild times."""
    rows = {}
    times = {}
    for b in data["benchmarks"]:
        if b.get("aggregate_name") != "median":
            continue
        _, differ, rest = b["run_name"].split("/", 2)
        rest = re.sub(r"(/iterations:\d+|/real_time)+$", "", rest)
        pair, variant = rest.rsplit(" [", 1)
        key = (pair, variant.rstrip("]"))
        rows[key] = b
        # Real time throughout: the in-process rebuild of a large object
        # hashes on a second thread, and the tools run as subprocesses.
        times[key + (differ,)] = fmt_time(to_ns(b["real_time"], b.get("time_unit", "ns")))
    print(f"Run on {data['context'].get('date', '')}; median of 5 repetitions; objects as the "
          "tree builds them by default (RelWithDebInfo, `-O2 -g1`). Sizes in bytes: "
          "the new object, the object compressed alone (`zstd -19`), and the delta each differ "
          "makes against the exact base. `stripped` is `objcopy --strip-unneeded`, what "
          "`graft_add_component` ships; `unstripped` keeps the `-g1` debug info.\n")
    print("| pair | objects | full | full.zst | bsdiff | xdelta3 | zstd (libzstd) |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for (pair, variant), b in rows.items():
        sizes = [b.get(k, 0) for k in ("full", "full_zst", "bsdiff", "xdelta3", "zstd")]
        best = min(sizes[2:])
        cells = [fmt_bytes(v) if i < 2 or v != best else f"**{fmt_bytes(v)}**"
                 for i, v in enumerate(sizes)]
        print(f"| {pair} | {variant} | " + " | ".join(cells) + " |")
    print()
    print("Rebuild time, as real time: zstd is `graft::detail::apply_delta` in process plus "
          "the SHA-256 check the host makes (OpenSSL's libcrypto), which for an object of 1 MiB "
          "or more runs on a second thread trailing the decoder, and each half alone; bspatch "
          "and `xdelta3 -d` run as a subprocess each on temporary files (Debian ships them as "
          "commands only).\n")
    print("| pair | objects | zstd + sha256 | zstd alone | sha256 alone | bspatch | xdelta3 -d |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for (pair, variant) in rows:
        cells = [times.get((pair, variant, d), "-")
                 for d in ("zstd", "apply", "sha256", "bsdiff", "xdelta3")]
        print(f"| {pair} | {variant} | " + " | ".join(cells) + " |")
    print()


def main(folder):
    print("# Benchmarks\n")
    print("Written by `bench/run.sh` from a real run; do not edit by hand.\n")
    print(f"Machine: {machine()}\n")
    for name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, name)) as f:
            data = json.load(f)
        print(f"## {name[:-5]}\n")
        if name == "bench_delta.json":
            delta_section(data)
            continue
        print(f"Run on {data['context'].get('date', '')}; median of 5 repetitions; CPU time is per "
              "operation per thread.\n")
        print("| benchmark | threads | CPU time | real time | counters |")
        print("| --- | ---: | ---: | ---: | --- |")
        for b in data["benchmarks"]:
            if b.get("aggregate_name") != "median":
                continue
            base = b["run_name"]
            label = base.split("/threads:")[0].replace("BM_", "")
            threads = b.get("threads", 1)
            unit = b.get("time_unit", "ns")
            counters = ", ".join(f"{k} {b[k]:.4g}" for k in sorted(b) if k not in STANDARD_KEYS)
            print(f"| {label} | {threads} | {fmt_time(to_ns(b['cpu_time'], unit))} | "
                  f"{fmt_time(to_ns(b['real_time'], unit))} | {counters} |")
        print()


if __name__ == "__main__":
    main(sys.argv[1])
