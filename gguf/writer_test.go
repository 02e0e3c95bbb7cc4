package gguf

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hearthllm/hearth/internal/llamacpp"
	"github.com/hearthllm/hearth/internal/testmodels"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeBytes serializes w.
func writeBytes(t testing.TB, w *Writer) []byte {
	t.Helper()
	var b bytes.Buffer
	n, err := w.WriteTo(&b)
	require.NoError(t, err)
	require.Equal(t, int64(b.Len()), n)
	return b.Bytes()
}

// parseWriter serializes w and parses the result.
func parseWriter(t testing.TB, name string, w *Writer) *File {
	t.Helper()
	f, err := Parse(name, writeBytes(t, w))
	require.NoError(t, err)
	return f
}

// rewrite copies every KV and tensor of f into a new Writer.
func rewrite(t testing.TB, f *File, stream bool) *Writer {
	t.Helper()
	w := NewWriter()
	w.CopyKVs(f)
	for i, ti := range f.Tensors() {
		data := f.TensorData(ti)
		if stream && i%2 == 1 {
			require.NoError(t, w.AddTensorFunc(ti.Name, ti.Type, ti.Dims, func(dst io.Writer) error {
				_, err := dst.Write(data)
				return err
			}))
			continue
		}
		require.NoError(t, w.AddTensor(ti.Name, ti.Type, ti.Dims, data))
	}
	return w
}

// assertSameFile checks that two parsed files hold the same KVs, tensor
// infos and tensor bytes.
func assertSameFile(t *testing.T, want, got *File) {
	t.Helper()
	require.Equal(t, len(want.KVs()), len(got.KVs()))
	for i, kv := range want.KVs() {
		assert.Equal(t, kv.Key, got.KVs()[i].Key)
		assert.True(t, kv.Value.Equal(got.KVs()[i].Value), kv.Key)
	}
	require.Equal(t, len(want.Tensors()), len(got.Tensors()))
	for _, ti := range want.Tensors() {
		gi, ok := got.Tensor(ti.Name)
		require.True(t, ok, ti.Name)
		assert.Equal(t, ti.Dims, gi.Dims)
		assert.Equal(t, ti.Type, gi.Type)
		assert.Equal(t, ti.Size, gi.Size)
		assert.True(t, bytes.Equal(want.TensorData(ti), got.TensorData(gi)), ti.Name)
	}
}

// TestRoundTripModels rewrites every shared model with the Writer. Files
// with tensors, written by llama.cpp (or gguf-py) with llama.cpp's layout,
// must come out byte for byte identical; tensor-less vocab files may differ
// only by the trailing padding gguf-py adds and llama.cpp does not.
func TestRoundTripModels(t *testing.T) {
	for _, path := range allModelFiles(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			f, err := Open(path)
			require.NoError(t, err)
			defer f.Close()
			orig, err := os.ReadFile(path)
			require.NoError(t, err)
			out := writeBytes(t, rewrite(t, f, true))
			if len(f.Tensors()) > 0 {
				assert.True(t, bytes.Equal(orig, out), "rewrite differs from the original")
			} else {
				require.LessOrEqual(t, len(out), len(orig))
				assert.True(t, bytes.Equal(orig[:len(out)], out), "rewrite differs from the original")
				assert.Less(t, len(orig)-len(out), int(f.Alignment))
				assert.Zero(t, strings.Trim(string(orig[len(out):]), "\x00"), "only zero padding may differ")
			}
			g, err := Parse("rewritten", out)
			require.NoError(t, err)
			assertSameFile(t, f, g)
		})
	}
}

func TestWriteFile(t *testing.T) {
	f, err := Open(testmodels.Path(t, "llama-2-tiny-random.gguf"))
	require.NoError(t, err)
	defer f.Close()
	path := filepath.Join(t.TempDir(), "out.gguf")
	require.NoError(t, rewrite(t, f, false).WriteFile(path))
	g, err := Open(path)
	require.NoError(t, err)
	defer g.Close()
	assertSameFile(t, f, g)
	entries, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary file left behind")

	// A failing write leaves neither the target nor a temporary file.
	bad := NewWriter()
	require.NoError(t, bad.AddTensorFunc("x", TypeF32, []uint64{4}, func(io.Writer) error { return errors.New("boom") }))
	failed := filepath.Join(filepath.Dir(path), "failed.gguf")
	err = bad.WriteFile(failed)
	require.ErrorContains(t, err, `gguf: tensor "x": boom`)
	entries, err = os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	assert.Len(t, entries, 1)
}

// TestLlamaCppReadsWriterOutput rewrites stories260K with a different
// layout (alignment 64, tensors in reverse order, streamed data, an extra
// key) and checks that llama.cpp generates the same greedy continuation
// from it as from the original.
func TestLlamaCppReadsWriterOutput(t *testing.T) {
	if testing.Short() {
		t.Skip("llama.cpp comparison skipped in -short mode")
	}
	src := testmodels.Path(t, "stories260K.gguf")
	f, err := Open(src)
	require.NoError(t, err)
	defer f.Close()
	w := NewWriter()
	w.CopyKVs(f)
	w.SetKV(KeyAlignment, Uint32Value(64))
	w.SetKV("hearth.test.note", StringValue("rewritten by gguf.Writer"))
	ts := slices.Clone(f.Tensors())
	slices.Reverse(ts)
	for _, ti := range ts {
		data := f.TensorData(ti)
		require.NoError(t, w.AddTensorFunc(ti.Name, ti.Type, ti.Dims, func(dst io.Writer) error {
			_, err := dst.Write(data)
			return err
		}))
	}
	dst := filepath.Join(t.TempDir(), "stories260K-rewritten.gguf")
	require.NoError(t, w.WriteFile(dst))
	g, err := Open(dst)
	require.NoError(t, err)
	assert.Equal(t, uint64(64), g.Alignment)
	assert.Equal(t, "stories260K.gguf", filepath.Base(src))
	require.NoError(t, g.Close())

	ask := func(req map[string]any) map[string]any {
		var resp map[string]any
		llamacpp.Run(t, req, &resp)
		return resp
	}
	tok := ask(map[string]any{"op": "tokenize", "model": src, "texts": []string{"Once upon a time"}, "addSpecial": true})
	prompt := tok["tokens"].([]any)[0]
	want := ask(map[string]any{"op": "greedy", "model": src, "tokens": prompt, "n": 24})
	got := ask(map[string]any{"op": "greedy", "model": dst, "tokens": prompt, "n": 24})
	require.Len(t, want["tokens"], 24)
	assert.Equal(t, want["tokens"], got["tokens"])
}

func TestWriterValues(t *testing.T) {
	nested, err := ArrayValue(ValueArray,
		ArrayOf([]int32{1, -2}),
		StringsValue([]string{"a", "bc"}),
		must(ArrayValue(ValueArray, ArrayOf([]bool{true}))),
		ArrayOf([]string{}),
	)
	require.NoError(t, err)
	values := []struct {
		key  string
		v    Value
		want any
		text string
		json string
	}{
		{"u8", Uint8Value(200), uint8(200), "200", "200"},
		{"i8", Int8Value(-100), int8(-100), "-100", "-100"},
		{"u16", Uint16Value(60000), uint16(60000), "60000", "60000"},
		{"i16", Int16Value(-30000), int16(-30000), "-30000", "-30000"},
		{"u32", Uint32Value(4000000000), uint32(4000000000), "4000000000", "4000000000"},
		{"i32", Int32Value(-2000000000), int32(-2000000000), "-2000000000", "-2000000000"},
		{"u64", Uint64Value(math.MaxUint64), uint64(math.MaxUint64), "18446744073709551615", "18446744073709551615"},
		{"i64", Int64Value(math.MinInt64), int64(math.MinInt64), "-9223372036854775808", "-9223372036854775808"},
		{"f32", Float32Value(1e-5), float32(1e-5), "1e-05", "1e-05"},
		{"f64", Float64Value(0.1), 0.1, "0.1", "0.1"},
		{"nan", Float32Value(float32(math.NaN())), nil, "NaN", `"NaN"`},
		{"inf", Float64Value(math.Inf(-1)), math.Inf(-1), "-Inf", `"-Inf"`},
		{"true", BoolValue(true), true, "true", "true"},
		{"false", BoolValue(false), false, "false", "false"},
		{"str", StringValue("héllo \"x\"\n"), "héllo \"x\"\n", `"héllo \"x\"\n"`, `"héllo \"x\"\n"`},
		{"empty", StringValue(""), "", `""`, `""`},
		{"strs", StringsValue([]string{"a", "", "ü"}), []string{"a", "", "ü"}, `["a", "", "ü"]`, `["a","","ü"]`},
		{"f32s", Float32sValue([]float32{0.5, -1}), []float32{0.5, -1}, "[0.5, -1]", "[0.5,-1]"},
		{"i32s", Int32sValue([]int32{3, -4}), []int32{3, -4}, "[3, -4]", "[3,-4]"},
		{"u32s", Uint32sValue([]uint32{5}), []uint32{5}, "[5]", "[5]"},
		{"u8s", ArrayOf([]uint8{1, 2}), []uint8{1, 2}, "[1, 2]", "[1,2]"},
		{"i8s", ArrayOf([]int8{-1}), []int8{-1}, "[-1]", "[-1]"},
		{"u16s", ArrayOf([]uint16{7}), []uint16{7}, "[7]", "[7]"},
		{"i16s", ArrayOf([]int16{-7}), []int16{-7}, "[-7]", "[-7]"},
		{"u64s", ArrayOf([]uint64{1 << 63}), []uint64{1 << 63}, "[9223372036854775808]", "[9223372036854775808]"},
		{"i64s", ArrayOf([]int64{-1 << 63}), []int64{-1 << 63}, "[-9223372036854775808]", "[-9223372036854775808]"},
		{"f64s", ArrayOf([]float64{2.5}), []float64{2.5}, "[2.5]", "[2.5]"},
		{"bools", ArrayOf([]bool{true, false}), []bool{true, false}, "[true, false]", "[true,false]"},
		{"nostrs", StringsValue(nil), []string{}, "[]", "[]"},
		{"nested", nested, []any{[]int32{1, -2}, []string{"a", "bc"}, []any{[]bool{true}}, []string{}},
			`[[1, -2], ["a", "bc"], [[true]], []]`, `[[1,-2],["a","bc"],[[true]],[]]`},
	}
	w := NewWriter()
	for _, c := range values {
		w.SetKV(c.key, c.v)
	}
	f := parseWriter(t, "values.gguf", w)
	require.Len(t, f.KVs(), len(values))
	for i, c := range values {
		t.Run(c.key, func(t *testing.T) {
			kv := f.KVs()[i]
			assert.Equal(t, c.key, kv.Key)
			assert.True(t, c.v.Equal(kv.Value))
			assert.Equal(t, c.v.Type, kv.Value.Type)
			if c.want != nil {
				assert.Equal(t, c.want, kv.Value.Any())
			}
			assert.Equal(t, c.text, kv.Value.String())
			js, err := json.Marshal(kv.Value)
			require.NoError(t, err)
			assert.Equal(t, c.json, string(js))
		})
	}
	v, _ := f.Value("nested")
	require.Equal(t, 4, v.Len())
	assert.Equal(t, ValueArray, v.ArrayType)
	s, err := v.Index(1).AsStrings()
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "bc"}, s)
	assert.Equal(t, "[[true]]", v.Index(2).String())
	strs, _ := f.Value("strs")
	assert.Equal(t, "ü", must(strs.Index(2).AsString()))
	i32s, _ := f.Value("i32s")
	assert.Equal(t, int32(-4), must(i32s.Index(1).AsInt32()))
	assert.Panics(t, func() { i32s.Index(2) })
	assert.Panics(t, func() { Uint8Value(1).Index(0) })
	assert.Equal(t, 0, Uint8Value(1).Len())

	_, err = ArrayValue(ValueString, Uint8Value(1))
	assert.ErrorContains(t, err, "array of string: element 0 is uint8")
	_, err = ArrayValue(ValueType(42))
	assert.ErrorContains(t, err, "unknown element type 42")
}

func must[T any](x T, err error) T {
	if err != nil {
		panic(err)
	}
	return x
}

func TestWriterKVOrder(t *testing.T) {
	w := NewWriter()
	w.SetKV("a", Uint8Value(1))
	w.SetKV("b", Uint8Value(2))
	w.SetKV("c", Uint8Value(3))
	w.SetKV("a", StringValue("x")) // replaced in place
	w.DeleteKV("b")
	w.DeleteKV("missing")
	w.SetKV("d", Uint8Value(4))
	f := parseWriter(t, "order.gguf", w)
	var keys []string
	for _, kv := range f.KVs() {
		keys = append(keys, kv.Key)
	}
	assert.Equal(t, []string{"a", "c", "d"}, keys)
	assert.Equal(t, "x", must(f.String("a")))

	// CopyKVs with a prefix filter.
	g := NewWriter()
	g.SetKV("z", Uint8Value(0))
	g.CopyKVs(f, "c", "d")
	assert.Equal(t, []string{"z", "c", "d"}, []string{g.KVs()[0].Key, g.KVs()[1].Key, g.KVs()[2].Key})
}

func TestWriterTensorsAndAlignment(t *testing.T) {
	for _, align := range []uint32{0, 1, 8, 32, 64, 4096} {
		w := NewWriter()
		if align != 0 {
			w.SetKV(KeyAlignment, Uint32Value(align))
		}
		w.SetKV("k", StringValue("odd length key value"))
		a := bytes.Repeat([]byte{1, 2, 3, 4}, 3) // F32 [3]: 12 bytes
		b := bytes.Repeat([]byte{9}, 34*2)       // Q8_0 [32, 2]: 68 bytes
		c := bytes.Repeat([]byte{5, 6}, 5)       // F16 [5, 1, 1, 1]
		require.NoError(t, w.AddTensor("a", TypeF32, []uint64{3}, a))
		require.NoError(t, w.AddTensor("b", TypeQ8_0, []uint64{32, 2}, b))
		require.NoError(t, w.AddTensor("c", TypeF16, []uint64{5, 1, 1, 1}, c))
		require.NoError(t, w.AddTensor("empty", TypeF32, []uint64{0, 4}, nil))
		f := parseWriter(t, "align.gguf", w)
		want := uint64(align)
		if align == 0 {
			want = DefaultAlignment
		}
		assert.Equal(t, want, f.Alignment)
		assert.Zero(t, f.DataOffset%want)
		for name, data := range map[string][]byte{"a": a, "b": b, "c": c, "empty": {}} {
			ti, ok := f.Tensor(name)
			require.True(t, ok)
			assert.Zero(t, ti.Offset%want, name)
			assert.Equal(t, data, f.TensorData(ti), name)
		}
		ti, _ := f.Tensor("b")
		assert.Equal(t, uint64(2), ti.Rows())
		assert.Equal(t, uint64(64), ti.Elements())
	}
}

func TestWriterErrors(t *testing.T) {
	w := NewWriter()
	require.NoError(t, w.AddTensor("x", TypeF32, []uint64{2}, make([]byte, 8)))
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"duplicate", w.AddTensor("x", TypeF32, []uint64{2}, make([]byte, 8)), `duplicate tensor name "x"`},
		{"size", w.AddTensor("y", TypeF32, []uint64{2}, make([]byte, 7)), `data has 7 bytes, F32 [2] needs 8`},
		{"no dims", w.AddTensor("y", TypeF32, nil, nil), `has 0 dimensions, want 1 to 4`},
		{"5 dims", w.AddTensor("y", TypeF32, []uint64{1, 1, 1, 1, 1}, make([]byte, 4)), `has 5 dimensions`},
		{"type", w.AddTensor("y", TensorType(4), []uint64{1}, nil), `unknown type 4`},
		{"block", w.AddTensor("y", TypeQ4_K, []uint64{255}, nil), `row length 255 is not a multiple of the Q4_K block size 256`},
		{"overflow", w.AddTensor("y", TypeF32, []uint64{1 << 40, 1 << 40}, nil), `overflow`},
		{"nil func", w.AddTensorFunc("y", TypeF32, []uint64{1}, nil), `nil write function`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.Error(t, c.err)
			assert.Contains(t, c.err.Error(), c.want)
		})
	}

	short := NewWriter()
	require.NoError(t, short.AddTensorFunc("s", TypeF32, []uint64{4}, func(dst io.Writer) error {
		_, err := dst.Write(make([]byte, 12))
		return err
	}))
	_, err := short.WriteTo(io.Discard)
	assert.ErrorContains(t, err, `tensor "s": wrote 12 bytes, want 16`)

	for _, bad := range []Value{Uint32Value(0), Uint32Value(48), StringValue("32"), Int32Value(-32)} {
		w := NewWriter()
		w.SetKV(KeyAlignment, bad)
		_, err := w.WriteTo(io.Discard)
		assert.ErrorContains(t, err, KeyAlignment, bad.String())
	}
	w = NewWriter()
	w.SetKV("bad", Value{Type: ValueType(77)})
	_, err = w.WriteTo(io.Discard)
	assert.ErrorContains(t, err, `key "bad": unknown value type 77`)
}
