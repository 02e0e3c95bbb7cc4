package quant

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// testGGUFTensor is one tensor read by readTestGGUF.
type testGGUFTensor struct {
	name string
	dims []uint64
	typ  uint32
	data []byte
}

// testModelsDir returns the folder of shared test models (HEARTH_TEST_MODELS,
// default ../../shared/models from this package), skipping loudly when absent.
func testModelsDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("HEARTH_TEST_MODELS")
	if dir == "" {
		dir = filepath.Join("..", "..", "shared", "models")
	}
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("!!! SKIPPING: test models not found at %s (set HEARTH_TEST_MODELS): %v", dir, err)
	}
	return dir
}

// readTestGGUF is a minimal GGUF v2/v3 reader for these tests: it returns
// the tensors of path in file order with their data copied out.
func readTestGGUF(t testing.TB, path string) []testGGUFTensor {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("!!! SKIPPING: cannot read test model %s: %v", path, err)
	}
	tensors, err := parseTestGGUF(b)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return tensors
}

func parseTestGGUF(b []byte) ([]testGGUFTensor, error) {
	pos := 0
	need := func(n int) error {
		if pos+n > len(b) {
			return fmt.Errorf("truncated at offset %d", pos)
		}
		return nil
	}
	u32 := func() (uint32, error) {
		if err := need(4); err != nil {
			return 0, err
		}
		v := binary.LittleEndian.Uint32(b[pos:])
		pos += 4
		return v, nil
	}
	u64 := func() (uint64, error) {
		if err := need(8); err != nil {
			return 0, err
		}
		v := binary.LittleEndian.Uint64(b[pos:])
		pos += 8
		return v, nil
	}
	str := func() (string, error) {
		n, err := u64()
		if err != nil {
			return "", err
		}
		if err := need(int(n)); err != nil {
			return "", err
		}
		s := string(b[pos : pos+int(n)])
		pos += int(n)
		return s, nil
	}
	scalarSize := map[uint32]int{0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
	var skipValue func(typ uint32) (uint64, error)
	skipValue = func(typ uint32) (uint64, error) {
		if sz, ok := scalarSize[typ]; ok {
			if err := need(sz); err != nil {
				return 0, err
			}
			var v uint64
			switch sz {
			case 4:
				v = uint64(binary.LittleEndian.Uint32(b[pos:]))
			case 8:
				v = binary.LittleEndian.Uint64(b[pos:])
			}
			pos += sz
			return v, nil
		}
		switch typ {
		case 8:
			_, err := str()
			return 0, err
		case 9:
			et, err := u32()
			if err != nil {
				return 0, err
			}
			n, err := u64()
			if err != nil {
				return 0, err
			}
			for k := uint64(0); k < n; k++ {
				if _, err := skipValue(et); err != nil {
					return 0, err
				}
			}
			return 0, nil
		}
		return 0, fmt.Errorf("unknown value type %d at offset %d", typ, pos)
	}
	if len(b) < 4 || string(b[:4]) != "GGUF" {
		return nil, fmt.Errorf("not a GGUF file")
	}
	pos = 4
	if _, err := u32(); err != nil {
		return nil, err
	}
	nTensors, err := u64()
	if err != nil {
		return nil, err
	}
	nKV, err := u64()
	if err != nil {
		return nil, err
	}
	alignment := uint64(32)
	for k := uint64(0); k < nKV; k++ {
		key, err := str()
		if err != nil {
			return nil, err
		}
		typ, err := u32()
		if err != nil {
			return nil, err
		}
		v, err := skipValue(typ)
		if err != nil {
			return nil, err
		}
		if key == "general.alignment" {
			alignment = v
		}
	}
	type info struct {
		t      testGGUFTensor
		offset uint64
	}
	infos := make([]info, 0, nTensors)
	for k := uint64(0); k < nTensors; k++ {
		name, err := str()
		if err != nil {
			return nil, err
		}
		nd, err := u32()
		if err != nil {
			return nil, err
		}
		dims := make([]uint64, nd)
		for d := range dims {
			if dims[d], err = u64(); err != nil {
				return nil, err
			}
		}
		typ, err := u32()
		if err != nil {
			return nil, err
		}
		off, err := u64()
		if err != nil {
			return nil, err
		}
		infos = append(infos, info{testGGUFTensor{name: name, dims: dims, typ: typ}, off})
	}
	start := (uint64(pos) + alignment - 1) / alignment * alignment
	out := make([]testGGUFTensor, len(infos))
	for k, in := range infos {
		n := uint64(1)
		for _, d := range in.t.dims {
			n *= d
		}
		var size uint64
		switch in.t.typ {
		case 0:
			size = 4 * n
		default:
			bs, ts := testTypeLayout(in.t.typ)
			if bs == 0 {
				return nil, fmt.Errorf("tensor %s: unhandled type %d", in.t.name, in.t.typ)
			}
			size = n / uint64(bs) * uint64(ts)
		}
		lo := start + in.offset
		if lo+size > uint64(len(b)) {
			return nil, fmt.Errorf("tensor %s: data out of file", in.t.name)
		}
		in.t.data = b[lo : lo+size]
		out[k] = in.t
	}
	return out, nil
}

// testTypeLayout gives block size and bytes per block of the types these
// tests read, from ggml-common.h's block structs.
func testTypeLayout(typ uint32) (blockSize, typeSize int) {
	switch typ {
	case 1, 30:
		return 1, 2
	case 10:
		return 256, 84
	case 11:
		return 256, 110
	case 12:
		return 256, 144
	case 13:
		return 256, 176
	case 14:
		return 256, 210
	}
	return 0, 0
}

// f32Data views F32 tensor bytes as float32 values (copied).
func f32Data(b []byte) []float32 {
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}
