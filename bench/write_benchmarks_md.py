#!/usr/bin/env python3
"""Turns Google Benchmark JSON files into BENCHMARKS.md (median of the
repetitions), with the machine the run was made on."""
import json
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


def main(folder):
    print("# Benchmarks\n")
    print("Written by `bench/run.sh` from a real run; do not edit by hand.\n")
    print(f"Machine: {machine()}\n")
    for name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, name)) as f:
            data = json.load(f)
        print(f"## {name[:-5]}\n")
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
