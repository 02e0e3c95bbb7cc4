#!/bin/sh
# llama_dump.sh MODEL OUTDIR [f32|f16] [batch] builds llama_dump.c against
# node-llama-cpp's prebuilt libllama (headers from the llama.cpp source bundle
# node-llama-cpp ships) and dumps llama.cpp's intermediate tensors for the
# token path of cpu_test.go into OUTDIR. Then:
#   HEARTH_LLAMA_DUMP=OUTDIR HEARTH_LLAMA_DUMP_MODEL=synthetic/... \
#     go test -run TestOpsAgainstLlamaDump -v ./engine/cpu
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
model=$1 out=$2 kv=${3:-f32} batch=${4:-}
bins=$root/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64
work=${TMPDIR:-/tmp}/hearth-llama-dump
mkdir -p "$work" "$out"
if [ ! -d "$work/llsrc" ]; then
  git clone -q "$root/node_modules/node-llama-cpp/llama/gitRelease.bundle" "$work/llsrc"
fi
gcc -O1 -o "$work/llama_dump" "$here/llama_dump.c" -I"$work/llsrc/include" -I"$work/llsrc/ggml/include" \
  -L"$bins" -l:libllama.v0.4.0.so -l:libggml-base.so -l:libggml.v0.4.0.so -Wl,-rpath,"$bins"
kvf32=1
[ "$kv" = f16 ] && kvf32=0
b=0
[ "$batch" = batch ] && b=1
LLAMA_BINS=$bins "$work/llama_dump" "$model" "$out" $kvf32 $b \
  1 403 407 261 378 432 383 291 376 400 428 286 296 418 329 429 412 425 372 274 287 269 317 263 377 2>/dev/null
