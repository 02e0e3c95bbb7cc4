# Hearth: developer targets. `npm install` runs the same build (scripts/build.mjs).
GO ?= go
GOFILES := $(shell find . -name '*.go' -not -path './node_modules/*' -not -path './build/*' 2>/dev/null)

.PHONY: all lib addon ts test test-go test-node bench bench-cpu clean

all: lib addon ts

lib: build/libhearth.so

build/libhearth.so: $(GOFILES) capi/errors.c capi/internal.h go.mod go.sum
	node scripts/build.mjs lib

addon: binding/build/Release/hearth.node

binding/build/Release/hearth.node: build/libhearth.so binding/src/addon.cc binding/binding.gyp capi/hearth.h
	node scripts/build.mjs addon

ts:
	node scripts/build.mjs ts

test: test-go test-node

test-go:
	$(GO) test ./...

test-node: addon ts
	node node_modules/jest/bin/jest.js

bench: addon ts
	node scripts/bench.mjs

# Hearth vs llama.cpp (node-llama-cpp) on the CPU, same GGUF files; see docs/benchmarks.md.
bench-cpu:
	node scripts/bench-cpu.mjs $(BENCH_CPU_ARGS)

clean:
	rm -rf build binding/build npm/dist hearth
