package quant

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hearthllm/hearth/gguf"
	"github.com/hearthllm/hearth/internal/testmodels"
)

// legacyTypes are the types this file tests, with the activation type
// ggml-cpu's type_traits_cpu gives each (vec_dot_type) and the name of the
// synthetic model llama-quantize wrote in that type.
var legacyTypes = []struct {
	typ     gguf.TensorType
	vecDot  gguf.TensorType
	file    string
	weights bool // has VecDot (a weight type)
}{
	{gguf.TypeF32, gguf.TypeF32, "tiny-synth-f32.gguf", true},
	{gguf.TypeF16, gguf.TypeF16, "tiny-synth-f16.gguf", true},
	{gguf.TypeBF16, gguf.TypeBF16, "tiny-synth-bf16.gguf", true},
	{gguf.TypeQ4_0, gguf.TypeQ8_0, "tiny-synth-q4_0.gguf", true},
	{gguf.TypeQ4_1, gguf.TypeQ8_1, "tiny-synth-q4_1.gguf", true},
	{gguf.TypeQ5_0, gguf.TypeQ8_0, "tiny-synth-q5_0.gguf", true},
	{gguf.TypeQ5_1, gguf.TypeQ8_1, "tiny-synth-q5_1.gguf", true},
	{gguf.TypeQ8_0, gguf.TypeQ8_0, "tiny-synth-q8_0.gguf", true},
	{gguf.TypeQ8_1, gguf.TypeQ8_1, "", false},
}

func TestForLayoutMatchesGGUF(t *testing.T) {
	for _, lt := range legacyTypes {
		t.Run(lt.typ.String(), func(t *testing.T) {
			tr := mustFor(t, lt.typ)
			assert.Equal(t, lt.typ, tr.Type)
			assert.Equal(t, lt.typ.BlockSize(), tr.BlockSize)
			assert.Equal(t, lt.typ.TypeSize(), tr.TypeSize)
			assert.Equal(t, lt.vecDot, tr.VecDotType)
			assert.NotNil(t, tr.Dequantize)
			assert.NotNil(t, tr.Quantize)
			assert.NotNil(t, tr.QuantizeActivation)
			assert.Equal(t, lt.weights, tr.VecDot != nil)
			_, err := For(tr.VecDotType)
			assert.NoError(t, err)
		})
	}
}

func TestForUnsupported(t *testing.T) {
	for _, typ := range []gguf.TensorType{gguf.TypeIQ2_XXS, gguf.TypeI32, gguf.TensorType(999)} {
		tr, err := For(typ)
		assert.Nil(t, tr)
		assert.ErrorIs(t, err, ErrUnsupported)
		assert.Contains(t, err.Error(), typ.String())
	}
}

// TestQuantizeMatchesLlamaCpp quantizes the F32 weights of tiny-synth with
// our Quantize and requires the bytes llama-quantize --pure wrote.
func TestQuantizeMatchesLlamaCpp(t *testing.T) {
	dir := testmodels.Path(t, "synthetic")
	src := map[string]testTensor{}
	for _, tt := range readGGUFTensors(t, filepath.Join(dir, "tiny-synth-f32.gguf")) {
		src[tt.name] = tt
	}
	for _, lt := range legacyTypes {
		if lt.file == "" || lt.typ == gguf.TypeF32 {
			continue
		}
		t.Run(lt.typ.String(), func(t *testing.T) {
			tr := mustFor(t, lt.typ)
			checked := 0
			for _, want := range readGGUFTensors(t, filepath.Join(dir, lt.file)) {
				if want.typ != lt.typ {
					continue // norms stay F32
				}
				orig, ok := src[want.name]
				require.True(t, ok, "tensor %s missing from the F32 model", want.name)
				require.Equal(t, gguf.TypeF32, orig.typ)
				require.Equal(t, orig.dims, want.dims)
				x := tensorF32(orig.data)
				got := make([]byte, len(want.data))
				tr.Quantize(got, x)
				nb := len(got) / tr.TypeSize
				same := 0
				firstBad := -1
				for b := 0; b < nb; b++ {
					g := got[b*tr.TypeSize : (b+1)*tr.TypeSize]
					w := want.data[b*tr.TypeSize : (b+1)*tr.TypeSize]
					if string(g) == string(w) {
						same++
					} else if firstBad < 0 {
						firstBad = b
					}
				}
				if !assert.Equal(t, nb, same, "%s: %d of %d blocks equal (%.4f%%)", want.name, same, nb, 100*float64(same)/float64(nb)) {
					b := firstBad
					t.Logf("first differing block %d: input %v\n got  %x\n want %x", b,
						x[b*tr.BlockSize:(b+1)*tr.BlockSize],
						got[b*tr.TypeSize:(b+1)*tr.TypeSize], want.data[b*tr.TypeSize:(b+1)*tr.TypeSize])
				}
				checked++
			}
			require.Positive(t, checked, "no %s tensors in %s", lt.typ, lt.file)
		})
	}
}

// elemBounds returns, for each of the n elements stored in data (type typ),
// the largest error the format allows between the value that was quantized
// and its dequantized value, derived from the block's stored scales.
func elemBounds(t testing.TB, typ gguf.TensorType, data []byte, deq []float32) []float64 {
	t.Helper()
	n := len(deq)
	out := make([]float64, n)
	const u11 = 1.0 / 2048 // half precision unit roundoff
	half := func(b []byte) float64 {
		return math.Abs(float64(FP16ToFP32(binary.LittleEndian.Uint16(b))))
	}
	perBlock := func(size int, f func(b []byte) float64) {
		for i := 0; i < n/32; i++ {
			e := f(data[i*size:])
			for j := 0; j < 32; j++ {
				out[i*32+j] = e
			}
		}
	}
	switch typ {
	case gguf.TypeF32:
	case gguf.TypeF16:
		for i, v := range deq {
			out[i] = math.Max(math.Abs(float64(v))*u11, 0x1p-25)
		}
	case gguf.TypeBF16:
		for i, v := range deq {
			out[i] = math.Max(math.Abs(float64(v))/256, 0x1p-134)
		}
	case gguf.TypeQ4_0: // one step where the top value clamps, plus d's rounding
		perBlock(18, func(b []byte) float64 { d := half(b); return d * (1 + 16*u11 + 1e-6) })
	case gguf.TypeQ5_0:
		perBlock(22, func(b []byte) float64 { d := half(b); return d * (1 + 32*u11 + 1e-6) })
	case gguf.TypeQ4_1:
		perBlock(20, func(b []byte) float64 {
			d, m := half(b), half(b[2:])
			return d*(0.5+16*u11+1e-5) + m*(u11+1e-6)
		})
	case gguf.TypeQ5_1:
		perBlock(24, func(b []byte) float64 {
			d, m := half(b), half(b[2:])
			return d*(0.5+32*u11+1e-5) + m*(u11+1e-6)
		})
	case gguf.TypeQ8_0:
		perBlock(34, func(b []byte) float64 { return half(b) * (0.5 + 128*u11 + 1e-5) })
	case gguf.TypeQ8_1:
		perBlock(36, func(b []byte) float64 { return half(b) * (0.5 + 128*u11 + 1e-5) })
	default:
		t.Fatalf("no bound for %s", typ)
	}
	return out
}

// TestDequantizeLlamaCppBytes dequantizes what llama.cpp wrote and compares
// with the F32 originals.
func TestDequantizeLlamaCppBytes(t *testing.T) {
	dir := testmodels.Path(t, "synthetic")
	src := map[string]testTensor{}
	for _, tt := range readGGUFTensors(t, filepath.Join(dir, "tiny-synth-f32.gguf")) {
		src[tt.name] = tt
	}
	for _, lt := range legacyTypes {
		if lt.file == "" {
			continue
		}
		t.Run(lt.typ.String(), func(t *testing.T) {
			tr := mustFor(t, lt.typ)
			checked := 0
			worstAll, worstName := 0.0, ""
			for _, tt := range readGGUFTensors(t, filepath.Join(dir, lt.file)) {
				if tt.typ != lt.typ {
					continue
				}
				x := tensorF32(src[tt.name].data)
				got := make([]float32, len(x))
				tr.Dequantize(got, tt.data)
				bound := elemBounds(t, lt.typ, tt.data, got)
				worst, worstRel := 0, 0.0
				for i := range x {
					e := math.Abs(float64(got[i]) - float64(x[i]))
					if e > bound[i] {
						require.LessOrEqual(t, e, bound[i], "%s[%d]: original %g, dequantized %g", tt.name, i, x[i], got[i])
					}
					if bound[i] > 0 && e/bound[i] > worstRel {
						worst, worstRel = i, e/bound[i]
					}
				}
				if lt.typ == gguf.TypeF32 {
					require.Equal(t, x, got)
				}
				if worstRel > worstAll {
					worstAll, worstName = worstRel, fmt.Sprintf("%s[%d]", tt.name, worst)
				}
				checked++
			}
			require.Positive(t, checked)
			t.Logf("%d tensors; largest error %.3g of the format's bound, at %s", checked, worstAll, worstName)
		})
	}
}

// vecDotRef returns the float64 dot product of dequantized w and a, the
// same sum with |terms| (for tolerances), and the number of float32
// accumulation steps VecDot is allowed.
func vecDotRef(t testing.TB, tr *Traits, n int, w, a []byte) (ref, absSum float64) {
	t.Helper()
	at := mustFor(t, tr.VecDotType)
	wd := make([]float32, n)
	ad := make([]float32, n)
	tr.Dequantize(wd, w)
	at.Dequantize(ad, a)
	for i := range wd {
		p := float64(wd[i]) * float64(ad[i])
		ref += p
		absSum += math.Abs(p)
	}
	if tr.VecDotType == gguf.TypeQ8_1 {
		// VecDot uses the stored s = fp16(d_a*sum(q_a)) for the min term,
		// not d_a*sum(q_a): move the reference onto the format's own value.
		for b := 0; b < n/32; b++ {
			wb := w[b*tr.TypeSize:]
			ab := a[b*36 : (b+1)*36]
			m := float64(FP16ToFP32(binary.LittleEndian.Uint16(wb[2:])))
			da := float64(FP16ToFP32(binary.LittleEndian.Uint16(ab)))
			s := float64(FP16ToFP32(binary.LittleEndian.Uint16(ab[2:])))
			var sq float64
			for _, q := range ab[4:] {
				sq += float64(int8(q))
			}
			ref += m * (s - da*sq)
			absSum += math.Abs(m * s)
		}
	}
	return ref, absSum
}

func TestVecDot(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, lt := range legacyTypes {
		if !lt.weights {
			continue
		}
		tr := mustFor(t, lt.typ)
		at := mustFor(t, tr.VecDotType)
		lengths := []int{32, 64, 256, 1024, 4096}
		if tr.BlockSize == 1 {
			lengths = append(lengths, 1, 7, 33, 1001)
		}
		for _, n := range lengths {
			for trial := 0; trial < 4; trial++ {
				t.Run(fmt.Sprintf("%s/n=%d/%d", lt.typ, n, trial), func(t *testing.T) {
					x := randRow(rng, n, 0.1)
					if trial == 3 { // an offset row exercises Q4_1/Q5_1 minimums
						for i := range x {
							x[i] += 0.3
						}
					}
					y := randRow(rng, n, 1)
					w := make([]byte, tr.RowSize(n))
					a := make([]byte, at.RowSize(n))
					tr.Quantize(w, x)
					tr.QuantizeActivation(a, y)
					got := float64(tr.VecDot(n, w, a))

					ref, absSum := vecDotRef(t, tr, n, w, a)
					steps := float64(n/tr.BlockSize + 8)
					tol := steps*0x1p-24*absSum + 1e-30
					assert.InDelta(t, ref, got, tol, "vs float64 on dequantized rows")

					// Against the unquantized rows: the format's error bounds.
					wd := make([]float32, n)
					ad := make([]float32, n)
					tr.Dequantize(wd, w)
					at.Dequantize(ad, a)
					ew := elemBounds(t, tr.Type, w, wd)
					ea := elemBounds(t, at.Type, a, ad)
					var exact, qtol float64
					for i := range x {
						exact += float64(x[i]) * float64(y[i])
						qtol += ew[i]*math.Abs(float64(y[i])) + math.Abs(float64(x[i]))*ea[i] + ew[i]*ea[i]
					}
					if tr.VecDotType == gguf.TypeQ8_1 {
						for b := 0; b < n/32; b++ {
							m := math.Abs(float64(FP16ToFP32(binary.LittleEndian.Uint16(w[b*tr.TypeSize+2:]))))
							s := math.Abs(float64(FP16ToFP32(binary.LittleEndian.Uint16(a[b*36+2:]))))
							qtol += m * s / 1024
						}
					}
					assert.InDelta(t, exact, got, qtol+tol, "vs float64 on the original rows")
				})
			}
		}
	}
}
