#!/bin/sh
# Regenerates the AVX-512 kernels and the generated AVX2 ones (AVO_SET=avx2)
# in a scratch copy of this directory (same relative paths, so the same
# "Code generated" header) and compares them with the committed
# quant/avx512_amd64.{s,go} and quant/avx2gen_amd64.{s,go}. Run from
# anywhere; needs avo in the module cache or the Go module proxy.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/_avo"
cp "$here/go.mod" "$here/go.sum" "$here"/*.go "$tmp/_avo/"
(cd "$tmp/_avo" && go run . -out ../avx512_amd64.s -stubs ../avx512_amd64.go -pkg quant)
(cd "$tmp/_avo" && AVO_SET=avx2 go run . -out ../avx2gen_amd64.s -stubs ../avx2gen_amd64.go -pkg quant)
(cd "$tmp/_avo" && AVO_SET=avx2-act go run . -out ../avx2act_amd64.s -stubs ../avx2act_amd64.go -pkg quant)
status=0
for f in avx512_amd64.s avx512_amd64.go avx2gen_amd64.s avx2gen_amd64.go avx2act_amd64.s avx2act_amd64.go; do
	if ! cmp -s "$tmp/$f" "$here/../$f"; then
		echo "quant/$f differs from what quant/_avo generates; run: go generate ./quant" >&2
		diff -u "$here/../$f" "$tmp/$f" | head -40 >&2 || true
		status=1
	fi
done
[ $status -eq 0 ] && echo "quant/avx512_amd64.{s,go} and avx2gen_amd64.{s,go} match the generator"
exit $status
