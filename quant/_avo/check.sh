#!/bin/sh
# Regenerates every kernel set quant/_avo writes (the AVX-512 kernels, and
# the AVX2 ones by AVO_SET: see main.go and quant/avx2gen.go) in a scratch
# copy of the repository layout (quant/_avo and engine/cpu, same relative
# paths, so the same "Code generated" header) and compares them with the
# committed quant/<file>_amd64.{s,go}, engine/cpu/avx2cpu_amd64.{s,go} and
# bench/readsum_amd64.{s,go}.
# Run from anywhere; needs avo in the module cache or the Go module proxy.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/quant/_avo" "$tmp/engine/cpu" "$tmp/bench"
cp "$here/go.mod" "$here/go.sum" "$here"/*.go "$tmp/quant/_avo/"
status=0
# AVO_SET:output file base ("" is the AVX-512 set)
for pair in ":avx512" "avx2:avx2gen" "avx2-kquant:avx2kquant" "avx2-legacy:avx2legacy" "avx2-act:avx2act" "avx2-mmk23:avx2mmk23" "avx2-mmkquant:avx2mmkquant" "avx2-gemv:avx2gemv" "avx2-q80q40:avx2q80q40" "avx2-matmul:avx2matmul" "avx2-k4r:avx2k4r" "avx2-f16gemm:avx2f16gemm" "q40x8:q40x8" "q4kx8:q4kx8"; do
	set=${pair%%:*}
	base=${pair#*:}
	(cd "$tmp/quant/_avo" && AVO_SET=$set go run . -out ../${base}_amd64.s -stubs ../${base}_amd64.go -pkg quant)
	for f in ${base}_amd64.s ${base}_amd64.go; do
		if ! cmp -s "$tmp/quant/$f" "$here/../$f"; then
			echo "quant/$f differs from what quant/_avo generates; run: go generate ./quant" >&2
			diff -u "$here/../$f" "$tmp/quant/$f" | head -40 >&2 || true
			status=1
		fi
	done
done
# engine/cpu's kernels (engine/cpu/avx2gen.go)
(cd "$tmp/quant/_avo" && AVO_SET=avx2-cpu go run . -out ../../engine/cpu/avx2cpu_amd64.s -stubs ../../engine/cpu/avx2cpu_amd64.go -pkg cpu)
for f in avx2cpu_amd64.s avx2cpu_amd64.go; do
	if ! cmp -s "$tmp/engine/cpu/$f" "$here/../../engine/cpu/$f"; then
		echo "engine/cpu/$f differs from what quant/_avo generates; run: go generate ./engine/cpu" >&2
		diff -u "$here/../../engine/cpu/$f" "$tmp/engine/cpu/$f" | head -40 >&2 || true
		status=1
	fi
done
# bench's read-bandwidth probes (bench/doc.go)
(cd "$tmp/quant/_avo" && AVO_SET=bench go run . -out ../../bench/readsum_amd64.s -stubs ../../bench/readsum_amd64.go -pkg bench)
for f in readsum_amd64.s readsum_amd64.go; do
	if ! cmp -s "$tmp/bench/$f" "$here/../../bench/$f"; then
		echo "bench/$f differs from what quant/_avo generates; run: go generate ./bench" >&2
		diff -u "$here/../../bench/$f" "$tmp/bench/$f" | head -40 >&2 || true
		status=1
	fi
done
[ $status -eq 0 ] && echo "quant's generated kernels (avx512, avx2gen, avx2kquant, avx2legacy, avx2act, avx2mmk23, avx2mmkquant, avx2gemv, avx2q80q40, avx2matmul, avx2k4r, avx2f16gemm, q40x8, q4kx8), engine/cpu's (avx2cpu) and bench's (readsum) match the generator"
exit $status
