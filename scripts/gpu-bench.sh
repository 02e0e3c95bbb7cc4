#!/usr/bin/env bash
# Runs the WebGPU backend benchmark on a device machine (see docs/benchmarks-gpu.md).
# Expects .dev/hearth and .dev/gpu.test built on the host:
#   go build -o .dev/hearth ./cmd/hearth && go test -c -o .dev/gpu.test ./gpu
# and the Vulkan loader .debs in .gl/. Generates TinyLlama-shaped random models
# with `hearth synth`, then runs TestGPUBench on them.
set -euo pipefail
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
if ! ls /usr/share/vulkan/icd.d/*.json /etc/vulkan/icd.d/*.json >/dev/null 2>&1; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
fi
out=${OUT:-/tmp/out}
mkdir -p /tmp/models "$out"
types=${TYPES:-Q4_K_M Q4_0 Q8_0 F16}
models=()
for ty in $types; do
  m=/tmp/models/tinyllama-$ty.gguf
  [ -f "$m" ] || /usr/bin/time -f "synth $ty %es" .dev/hearth synth --preset tinyllama-1.1b --type "$ty" --vocab .dev/ggml-vocab-llama-spm.gguf -o "$m"
  models+=("$m")
done
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem,power.draw --format=csv || true
cd gpu
HEARTH_GPU_BENCH=$(IFS=,; echo "${models[*]}") ../.dev/gpu.test -test.run 'TestGPUBench' -test.v -test.timeout 20m 2>&1 \
  | grep -v 'XDG_RUNTIME\|\[wgpu\] \[Warn\]' | tee "$out/bench.log"
