// Package bench holds Go benchmarks of whole-model CPU inference, made for
// profiling (go test -cpuprofile); scripts/bench-cpu.mjs does the
// side-by-side comparison with llama.cpp.
//
//	go test ./bench -run '^$' -bench Decode -benchtime 64x -cpuprofile build/cpu.prof
//	go tool pprof -top build/cpu.prof
//
// The model is $HEARTH_BENCH_MODEL, by default the TinyLlama-shaped Q4_K_M
// file that scripts/bench-cpu.mjs caches in build/bench-cpu/models (run it
// once, or `hearth synth --preset tinyllama-1.1b --type Q4_K_M ...`).
// $HEARTH_BENCH_THREADS sets the thread count (default 2), $HEARTH_BENCH_PROMPT
// the prefill batch (default 128). The backend is
// used directly (engine/cpu), so the numbers are the engine's own.
//
// BenchmarkReadBandwidth measures the memory floor of decode; its AVX2 and
// AVX-512 probes (readsum_amd64.s) are generated with avo by quant/_avo
// (AVO_SET=bench, _avo/bench_read.go): regenerate them with
// `go generate ./bench` and commit both files (quant/_avo/check.sh compares).
package bench

//go:generate sh -c "cd ../quant/_avo && AVO_SET=bench go run . -out ../../bench/readsum_amd64.s -stubs ../../bench/readsum_amd64.go -pkg bench"
