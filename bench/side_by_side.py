#!/usr/bin/env python3
"""Ours beside PyTorch, in one run: `vae bench --backend cpu` and
bench/pytorch_twin.py on the same preset, alternating, repeated, each with
2 threads; prints every run's JSON line, then one summary line per preset
(median and range of images/s of each, the ratio of the medians, the load
average before and after, which tells whether other work shared the cores).

    python bench/side_by_side.py --vae target/release/vae --presets conv cifar

Run it with a Python that has torch (`make bench-torch` finds one).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def run(cmd, env):
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    line = json.loads(out.strip().splitlines()[-1])
    print(json.dumps(line, sort_keys=True), flush=True)
    return line["images_per_sec"]


def spread(xs):
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vae", default="target/release/vae", help="the vae binary")
    ap.add_argument("--base", default=None,
                    help="another vae binary (e.g. an earlier build) run in the same "
                    "alternation; the summary adds its images/s and ours / base")
    ap.add_argument("--presets", nargs="+", default=["conv", "cifar"])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--omp-passive", action="store_true",
                    help="OMP_WAIT_POLICY=PASSIVE for PyTorch: its threads sleep at "
                    "barriers instead of spinning, which is kinder to it when other "
                    "work shares the cores (on an idle machine leave it off)")
    args = ap.parse_args()
    env = dict(os.environ, RAYON_NUM_THREADS=str(args.threads),
               OMP_NUM_THREADS=str(args.threads))
    torch_env = dict(env, OMP_WAIT_POLICY="PASSIVE") if args.omp_passive else env
    for preset in args.presets:
        load_before = os.getloadavg()[0]
        ours, torch, base = [], [], []
        for _ in range(args.repeats):
            ours.append(run([args.vae, "bench", "--backend", "cpu", "--preset", preset,
                             "--steps", str(args.steps)], env))
            if args.base:
                base.append(run([args.base, "bench", "--backend", "cpu", "--preset", preset,
                                 "--steps", str(args.steps)], env))
            torch.append(run([sys.executable, os.path.join(HERE, "pytorch_twin.py"),
                              "--preset", preset, "--steps", str(args.steps),
                              "--threads", str(args.threads)], torch_env))
        extra = {}
        if base:
            extra = {"base": spread(base),
                     "ours_vs_base": statistics.median(ours) / statistics.median(base)}
        print(json.dumps({
            **extra,
            "preset": preset,
            "summary": "cpu vs pytorch-cpu",
            "threads": args.threads,
            "omp_wait_policy": "PASSIVE" if args.omp_passive else "default",
            "repeats": args.repeats,
            "ours": spread(ours),
            "pytorch": spread(torch),
            "ratio_of_medians": statistics.median(ours) / statistics.median(torch),
            "load_average": [load_before, os.getloadavg()[0]],
        }, sort_keys=True), flush=True)


if __name__ == "__main__":
    main()
