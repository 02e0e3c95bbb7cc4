package gguf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/hearthllm/hearth/internal/testmodels"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// craftedFile returns a small valid GGUF file holding every kind of field
// the corruption tests patch. Its last tensor's size is a multiple of the
// alignment, so every proper prefix of the file is invalid.
func craftedFile(t testing.TB) []byte {
	t.Helper()
	w := NewWriter()
	w.SetKV("general.architecture", StringValue("llama"))
	w.SetKV(KeyAlignment, Uint32Value(32))
	w.SetKV("dup.aaaa", Uint32Value(1))
	w.SetKV("dup.bbbb", Uint32Value(2))
	w.SetKV("k.flag", BoolValue(true))
	w.SetKV("k.text", StringValue("hello"))
	w.SetKV("k.ints", Int32sValue([]int32{1, 2, 3}))
	w.SetKV("k.names", StringsValue([]string{"x", "yz"}))
	require.NoError(t, w.AddTensor("tensor.a", TypeF32, []uint64{8, 2}, bytes.Repeat([]byte{1}, 64)))
	require.NoError(t, w.AddTensor("tensor.b", TypeQ8_0, []uint64{32, 1}, bytes.Repeat([]byte{2}, 34)))
	require.NoError(t, w.AddTensor("tensor.c", TypeF32, []uint64{8}, bytes.Repeat([]byte{3}, 32)))
	return writeBytes(t, w)
}

// find returns the offset of the unique occurrence of s in data.
func find(t testing.TB, data []byte, s string) int {
	t.Helper()
	i := bytes.Index(data, []byte(s))
	require.GreaterOrEqual(t, i, 0, s)
	require.Equal(t, -1, bytes.Index(data[i+1:], []byte(s)), "%q is not unique", s)
	return i
}

func TestCorruptFiles(t *testing.T) {
	base := craftedFile(t)
	_, err := Parse("crafted.gguf", base)
	require.NoError(t, err, "the unpatched file must be valid")

	le := binary.LittleEndian
	// Field offsets, found from the unique key and tensor names.
	key := func(k string) int { return find(t, base, k) }    // start of the key bytes
	tensor := func(n string) int { return find(t, base, n) } // start of the name bytes
	alignVal := key(KeyAlignment) + len(KeyAlignment) + 4
	strVal := key("k.text") + 6 + 4
	arrType := key("k.ints") + 6 + 4
	strsElem := key("k.names") + 7 + 4 + 4 + 8
	ta, tb, tc := tensor("tensor.a"), tensor("tensor.b"), tensor("tensor.c")
	// In a tensor info: name, n_dims (4), dims (8 each), type (4), offset (8).
	nd := func(name int) int { return name + 8 }
	dim := func(name, i int) int { return name + 12 + 8*i }
	ttype := func(name, ndims int) int { return name + 12 + 8*ndims }
	toff := func(name, ndims int) int { return name + 16 + 8*ndims }
	bOffset := le.Uint64(base[toff(tb, 2):])

	type patch func(b []byte) []byte
	u32 := func(at int, v uint32) patch {
		return func(b []byte) []byte { le.PutUint32(b[at:], v); return b }
	}
	u64 := func(at int, v uint64) patch {
		return func(b []byte) []byte { le.PutUint64(b[at:], v); return b }
	}
	str := func(at int, s string) patch {
		return func(b []byte) []byte { copy(b[at:], s); return b }
	}
	seq := func(ps ...patch) patch {
		return func(b []byte) []byte {
			for _, p := range ps {
				b = p(b)
			}
			return b
		}
	}
	cases := []struct {
		name   string
		patch  patch
		offset int
		reason string
	}{
		{"bad magic", str(0, "GGML"), 0, `bad magic "GGML"`},
		{"version 1", u32(4, 1), 4, "unsupported version 1 "},
		{"version 4", u32(4, 4), 4, "unsupported version 4 "},
		{"big-endian", u32(4, 3<<24), 4, "big-endian GGUF files are not supported"},
		{"tensor count", u64(8, 1<<40), 8, "tensor count 1099511627776 is larger than"},
		{"kv count", u64(16, 1<<50), 16, "metadata key-value count 1125899906842624 is larger than"},
		// One KV more than present: the first tensor info is read as a KV
		// and the file goes wrong somewhere later; only check for an error.
		{"kv count past end", u64(16, 9), -1, ""},
		{"key length", u64(24, 1<<62), 24, "key length 4611686018427387904 exceeds"},
		{"duplicate key", str(key("dup.bbbb"), "dup.aaaa"), key("dup.bbbb") - 8, `duplicate key "dup.aaaa"`},
		{"unknown value type", u32(key("k.text")+6, 99), key("k.text") + 6, `key "k.text" has unknown value type 99`},
		{"string length", u64(strVal, 1<<40), strVal, `value of key "k.text" length 1099511627776 exceeds`},
		{"array elem type", u32(arrType, 13), arrType, `value of key "k.ints": array of unknown value type 13`},
		{"array length", u64(arrType+4, 1<<62), arrType + 4, `value of key "k.ints" array length 4611686018427387904 is larger than`},
		{"array of strings length", u64(strsElem, 1<<33), strsElem, `value of key "k.names": string length 8589934592 exceeds`},
		{"bool", func(b []byte) []byte { b[key("k.flag")+6+4] = 2; return b }, key("k.flag") + 10, `value of key "k.flag": invalid bool byte 2`},
		{"alignment 0", u32(alignVal, 0), alignVal, "general.alignment 0 is not a power of two"},
		{"alignment 48", u32(alignVal, 48), alignVal, "general.alignment 48 is not a power of two"},
		{"alignment float", u32(alignVal-4, uint32(ValueFloat32)), alignVal, "general.alignment: value is float32, not an integer"},
		{"duplicate tensor", str(tb, "tensor.a"), tb - 8, `duplicate tensor name "tensor.a"`},
		{"tensor name too long", u64(tb-8, 64), tb - 8, `is 64 bytes long, more than 63`},
		{"5 dims", u32(nd(ta), 5), nd(ta), `tensor "tensor.a" has 5 dimensions, want 1 to 4`},
		{"0 dims", u32(nd(ta), 0), nd(ta), `tensor "tensor.a" has 0 dimensions`},
		{"unknown tensor type", u32(ttype(ta, 2), 99), ttype(ta, 2), `tensor "tensor.a" has unknown type 99`},
		{"retired tensor type", u32(ttype(ta, 2), 4), ttype(ta, 2), `tensor "tensor.a" has unknown type 4`},
		{"dim beyond int64", u64(dim(ta, 1), 1<<63), dim(ta, 1), `tensor "tensor.a" dimension 1 is 9223372036854775808, more than int64 can hold`},
		{"element overflow", seq(u64(dim(ta, 0), 1<<32), u64(dim(ta, 1), 1<<31)), dim(ta, 0), `tensor "tensor.a" dimensions [4294967296 2147483648]: element count overflows int64`},
		{"element overflow before a zero dim", seq(u64(dim(ta, 0), 1<<62), u64(dim(ta, 1), 4), u32(nd(ta), 3)), dim(ta, 0), `element count overflows int64`},
		{"byte size overflow", seq(u64(dim(ta, 0), 1<<61), u64(dim(ta, 1), 2)), dim(ta, 0), `tensor "tensor.a" dimensions [2305843009213693952 2]: byte size overflows int64`},
		{"row not block multiple", u64(dim(tb, 0), 48), dim(tb, 0), `tensor "tensor.b" row length 48 is not a multiple of the Q8_0 block size 32`},
		{"misaligned", u64(toff(tb, 2), bOffset+4), toff(tb, 2), fmt.Sprintf(`tensor "tensor.b" data offset %d is not a multiple of the alignment 32`, bOffset+4)},
		{"overlap", u64(toff(tc, 1), bOffset), toff(tc, 1), `tensor "tensor.c" data (offset 64, 32 bytes) overlaps tensor "tensor.b" (offset 64, 34 bytes)`},
		{"overlap earlier tensor", u64(toff(tb, 2), 32), toff(tb, 2), `tensor "tensor.b" data (offset 32, 34 bytes) overlaps tensor "tensor.a" (offset 0, 64 bytes)`},
		{"past end", u64(toff(tc, 1), 1<<40), toff(tc, 1), `tensor "tensor.c" data (offset 1099511627776, 32 bytes) extends past the end of the file`},
		{"offset overflow", u64(toff(tc, 1), 1<<63), toff(tc, 1), `extends past the end of the file`},
		{"truncated data", func(b []byte) []byte { return b[:len(b)-1] }, toff(tc, 1), `tensor "tensor.c" data (offset 128, 32 bytes) extends past the end of the file`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := c.patch(bytes.Clone(base))
			_, err := Parse("crafted.gguf", data)
			require.Error(t, err)
			var fe *FormatError
			require.True(t, errors.As(err, &fe), "%T %v", err, err)
			assert.Equal(t, "crafted.gguf", fe.File)
			if c.offset >= 0 {
				assert.Contains(t, err.Error(), fmt.Sprintf("gguf: crafted.gguf: offset %d: ", c.offset))
				assert.Contains(t, err.Error(), c.reason)
			}
			assert.LessOrEqual(t, fe.Offset, int64(len(data)))
		})
	}

	t.Run("version 2 accepted", func(t *testing.T) {
		f, err := Parse("v2.gguf", u32(4, 2)(bytes.Clone(base)))
		require.NoError(t, err)
		assert.Equal(t, uint32(2), f.Version)
	})
	t.Run("alignment as int32 accepted", func(t *testing.T) {
		_, err := Parse("a.gguf", u32(alignVal-4, uint32(ValueInt32))(bytes.Clone(base)))
		require.NoError(t, err)
	})
}

// TestCorruptOpen checks that Open reports corruption with the path, and
// that a truncated file is caught at open time (no SIGBUS later).
func TestCorruptOpen(t *testing.T) {
	base := craftedFile(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "truncated.gguf")
	require.NoError(t, os.WriteFile(path, base[:len(base)-16], 0o644))
	_, err := Open(path)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "gguf: "+path+": offset ")
	assert.Contains(t, err.Error(), `tensor "tensor.c" data (offset 128, 32 bytes) extends past the end of the file`)

	real := testmodels.Path(t, "stories260K.gguf")
	orig, err := os.ReadFile(real)
	require.NoError(t, err)
	cut := filepath.Join(dir, "stories-cut.gguf")
	require.NoError(t, os.WriteFile(cut, orig[:len(orig)/2], 0o644))
	_, err = Open(cut)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "gguf: "+cut+": offset ")
	assert.Contains(t, err.Error(), "extends past the end of the file")
}

// TestNestedArrayDepth checks the bound on arrays of arrays.
func TestNestedArrayDepth(t *testing.T) {
	build := func(depth int) []byte {
		v := ArrayOf([]uint8{1})
		for range depth - 1 {
			v = must(ArrayValue(ValueArray, v))
		}
		w := NewWriter()
		w.SetKV("deep", v)
		return writeBytes(t, w)
	}
	_, err := Parse("ok.gguf", build(maxArrayDepth))
	require.NoError(t, err)
	_, err = Parse("deep.gguf", build(maxArrayDepth+1))
	require.Error(t, err)
	assert.Contains(t, err.Error(), fmt.Sprintf("arrays nested deeper than %d", maxArrayDepth))
}

// checkPrefixes parses data[:n] for each n and requires a FormatError that
// names the file and points inside the prefix.
func checkPrefixes(t *testing.T, name string, data []byte, ns []int) {
	t.Helper()
	for _, n := range ns {
		_, err := Parse(name, data[:n])
		if !assert.Error(t, err, "prefix of %d bytes parsed", n) {
			continue
		}
		var fe *FormatError
		require.True(t, errors.As(err, &fe), "%T %v", err, err)
		require.Contains(t, err.Error(), "gguf: "+name+": offset ")
		require.LessOrEqual(t, fe.Offset, int64(n))
	}
}

// TestTruncationEveryByte cuts a crafted file at every byte and the real
// stories260K at every byte of its metadata and tensor infos (and at a
// sample of positions in its data).
func TestTruncationEveryByte(t *testing.T) {
	crafted := craftedFile(t)
	all := make([]int, len(crafted))
	for i := range all {
		all[i] = i
	}
	checkPrefixes(t, "crafted.gguf", crafted, all)

	data, err := os.ReadFile(testmodels.Path(t, "stories260K.gguf"))
	require.NoError(t, err)
	f, err := Parse("stories260K.gguf", data)
	require.NoError(t, err)
	var ns []int
	for n := 0; n <= int(f.DataOffset)+64; n++ {
		ns = append(ns, n)
	}
	for n := int(f.DataOffset) + 64; n < len(data); n += 997 {
		ns = append(ns, n)
	}
	ns = append(ns, len(data)-1)
	checkPrefixes(t, "stories260K.gguf", data, ns)
}
