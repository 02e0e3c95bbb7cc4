package quant

import (
	"bytes"
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

// kquantCases are the K-quant weight types with the tiny-synth file that
// llama.cpp's llama-quantize --pure wrote for each and the bits per quant.
var kquantCases = []struct {
	typ  gguf.TensorType
	file string
	bits int
}{
	{gguf.TypeQ2_K, "tiny-synth-q2_k.gguf", 2},
	{gguf.TypeQ3_K, "tiny-synth-q3_k.gguf", 3},
	{gguf.TypeQ4_K, "tiny-synth-q4_k.gguf", 4},
	{gguf.TypeQ5_K, "tiny-synth-q5_k.gguf", 5},
	{gguf.TypeQ6_K, "tiny-synth-q6_k.gguf", 6},
}

// synthPair is one weight tensor: the F32 original and llama.cpp's
// quantization of it.
type synthPair struct {
	name  string
	f32   []float32
	llama []byte
}

// loadSynthPairs returns every tensor of type typ in the tiny-synth file with
// its F32 original from tiny-synth-f32.gguf.
func loadSynthPairs(t *testing.T, file string, typ gguf.TensorType) []synthPair {
	t.Helper()
	dir := testmodels.Path(t, "synthetic")
	orig := map[string][]float32{}
	for _, tt := range readTestGGUF(t, filepath.Join(dir, "tiny-synth-f32.gguf")) {
		if tt.typ == uint32(gguf.TypeF32) {
			orig[tt.name] = f32Data(tt.data)
		}
	}
	var pairs []synthPair
	for _, tt := range readTestGGUF(t, filepath.Join(dir, file)) {
		if tt.typ != uint32(typ) {
			continue
		}
		src, ok := orig[tt.name]
		require.True(t, ok, "tensor %s missing from tiny-synth-f32.gguf", tt.name)
		pairs = append(pairs, synthPair{tt.name, src, tt.data})
	}
	require.NotEmpty(t, pairs, "%s holds no %s tensors", file, typ)
	return pairs
}

func rmse(a, b []float32) float64 {
	var s float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		s += d * d
	}
	return math.Sqrt(s / float64(len(a)))
}

// TestKQuantMatchesLlamaCpp quantizes every weight tensor of tiny-synth-f32
// and compares the bytes with what llama-quantize --pure (no imatrix, so
// quantize_row_*_K_ref) wrote.
func TestKQuantMatchesLlamaCpp(t *testing.T) {
	for _, c := range kquantCases {
		t.Run(c.typ.String(), func(t *testing.T) {
			tr, err := For(c.typ)
			require.NoError(t, err)
			require.NotNil(t, tr.Quantize)
			total, equal := 0, 0
			for _, p := range loadSynthPairs(t, c.file, c.typ) {
				require.Equal(t, len(p.f32)/tr.BlockSize*tr.TypeSize, len(p.llama), p.name)
				got := make([]byte, len(p.llama))
				tr.Quantize(got, p.f32)
				firstBad := -1
				for b := 0; b < len(got)/tr.TypeSize; b++ {
					total++
					lo, hi := b*tr.TypeSize, (b+1)*tr.TypeSize
					if bytes.Equal(got[lo:hi], p.llama[lo:hi]) {
						equal++
					} else if firstBad < 0 {
						firstBad = b
					}
				}
				if firstBad >= 0 {
					lo, hi := firstBad*tr.TypeSize, (firstBad+1)*tr.TypeSize
					t.Errorf("%s: block %d differs\nours  %x\nllama %x", p.name, firstBad, got[lo:hi], p.llama[lo:hi])
				}
			}
			t.Logf("%s: %d/%d blocks byte-identical to llama.cpp (%.4f%%)", c.typ, equal, total, 100*float64(equal)/float64(total))
			assert.Equal(t, total, equal)
		})
	}
}

// TestKQuantRoundTripRMSE measures RMSE(dequant(quant(x)) - x) for our
// quantizer and for llama.cpp's bytes (both dequantized by us), requires them
// within 10% of each other, and bounds the relative error by half a step of a
// b-bit uniform quantizer over the data's range (2^-(b-1) of the RMS).
func TestKQuantRoundTripRMSE(t *testing.T) {
	for _, c := range kquantCases {
		t.Run(c.typ.String(), func(t *testing.T) {
			tr, err := For(c.typ)
			require.NoError(t, err)
			var sumOurs, sumLlama, sumX2 float64
			n := 0
			for _, p := range loadSynthPairs(t, c.file, c.typ) {
				q := make([]byte, len(p.llama))
				tr.Quantize(q, p.f32)
				ours := make([]float32, len(p.f32))
				tr.Dequantize(ours, q)
				llama := make([]float32, len(p.f32))
				tr.Dequantize(llama, p.llama)
				ro, rl := rmse(ours, p.f32), rmse(llama, p.f32)
				sumOurs += ro * ro * float64(len(p.f32))
				sumLlama += rl * rl * float64(len(p.f32))
				for _, v := range p.f32 {
					sumX2 += float64(v) * float64(v)
				}
				n += len(p.f32)
			}
			ro := math.Sqrt(sumOurs / float64(n))
			rl := math.Sqrt(sumLlama / float64(n))
			rms := math.Sqrt(sumX2 / float64(n))
			t.Logf("%s: RMSE ours %.6g, llama.cpp %.6g (ratio %.4f), signal RMS %.6g, relative %.4f, %d values",
				c.typ, ro, rl, ro/rl, rms, ro/rms, n)
			assert.InEpsilon(t, rl, ro, 0.10, "RMSE ours vs llama.cpp")
			assert.Less(t, rl/rms, math.Pow(2, -float64(c.bits-1)), "llama.cpp bytes dequantized by us stray from the F32 originals")
		})
	}
}

// TestKQuantDequantizeBlockwise checks the dequantizer layout against the F32
// originals element by element: llama.cpp's quantization of a value can only
// be off by a fraction of its sub-block's range, so a scrambled layout
// (values landing in the wrong positions) fails at once.
func TestKQuantDequantizeBlockwise(t *testing.T) {
	for _, c := range kquantCases {
		t.Run(c.typ.String(), func(t *testing.T) {
			tr, err := For(c.typ)
			require.NoError(t, err)
			sub := 16
			if c.typ == gguf.TypeQ4_K || c.typ == gguf.TypeQ5_K {
				sub = 32
			}
			levels := float64(int(1)<<c.bits - 1)
			for _, p := range loadSynthPairs(t, c.file, c.typ)[:3] {
				deq := make([]float32, len(p.f32))
				tr.Dequantize(deq, p.llama)
				for s := 0; s < len(p.f32); s += sub {
					lo, hi := math.Inf(1), math.Inf(-1)
					for _, v := range p.f32[s : s+sub] {
						lo = math.Min(lo, float64(v))
						hi = math.Max(hi, float64(v))
					}
					// One quantization step of the sub-block's range, with room for
					// the coarse 4/6-bit scale rounding and min clamping at zero.
					step := (math.Max(hi, 0) - math.Min(lo, 0)) / levels
					for k := s; k < s+sub; k++ {
						require.LessOrEqual(t, math.Abs(float64(deq[k])-float64(p.f32[k])), 1.5*step+1e-6,
							"%s element %d: dequantized %g, original %g", p.name, k, deq[k], p.f32[k])
					}
				}
			}
		})
	}
}

// randVec returns n values from N(0, sigma) with a few large outliers.
func randVec(r *rand.Rand, n int, sigma float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64() * sigma)
	}
	for k := 0; k < n/97; k++ {
		x[r.IntN(n)] *= 8
	}
	return x
}

// TestKQuantVecDot compares VecDot of llama.cpp-quantized weight rows with
// Q8_K activations against a float64 dot product of the two dequantized rows.
func TestKQuantVecDot(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, c := range kquantCases {
		t.Run(c.typ.String(), func(t *testing.T) {
			tr, err := For(c.typ)
			require.NoError(t, err)
			require.Equal(t, gguf.TypeQ8_K, tr.VecDotType)
			q8, err := For(gguf.TypeQ8_K)
			require.NoError(t, err)
			for _, p := range loadSynthPairs(t, c.file, c.typ)[:2] {
				n := 256 * 2 // rows of the synth tensors are 256 or 512 long; use 512-value chunks
				if len(p.f32)%n != 0 {
					n = 256
				}
				rowBytes := n / tr.BlockSize * tr.TypeSize
				for row := 0; row < 8; row++ {
					w := p.llama[row*rowBytes : (row+1)*rowBytes]
					x := randVec(r, n, 1)
					a := make([]byte, n/qkK*q8KBytes)
					tr.QuantizeActivation(a, x)
					wd := make([]float32, n)
					tr.Dequantize(wd, w)
					ad := make([]float32, n)
					q8.Dequantize(ad, a)
					var want, mag float64
					for i := range wd {
						want += float64(wd[i]) * float64(ad[i])
						mag += math.Abs(float64(wd[i]) * float64(ad[i]))
					}
					got := tr.VecDot(n, w, a)
					assert.LessOrEqual(t, math.Abs(float64(got)-want), 1e-5*mag,
						"%s row %d: VecDot %g, float64 %g", p.name, row, got, want)
				}
			}
		})
	}
}

// TestQ8KQuantize checks Q8_K against its definition: the value of largest
// magnitude maps to -127 (iscale = -127/max), every value is within half a
// step of d*q, and bsums are the sums of 16 quants.
func TestQ8KQuantize(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	tr, err := For(gguf.TypeQ8_K)
	require.NoError(t, err)
	tests := []struct {
		name string
		x    []float32
	}{
		{"gaussian", randVec(r, 1024, 1)},
		{"tiny", randVec(r, 256, 1e-20)},
		{"huge", randVec(r, 256, 1e30)},
		{"zero", make([]float32, 256)},
		{"positive max", func() []float32 { x := randVec(r, 256, 0.1); x[7] = 3; return x }()},
		{"negative max", func() []float32 { x := randVec(r, 256, 0.1); x[200] = -3; return x }()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			buf := make([]byte, len(tc.x)/qkK*q8KBytes)
			for k := range buf {
				buf[k] = 0xAA // garbage must be overwritten
			}
			tr.Quantize(buf, tc.x)
			deq := make([]float32, len(tc.x))
			tr.Dequantize(deq, buf)
			for b := 0; b < len(tc.x)/qkK; b++ {
				blk := buf[b*q8KBytes : (b+1)*q8KBytes]
				x := tc.x[b*qkK : (b+1)*qkK]
				d := q8KScale(blk)
				imax := 0
				for i, v := range x {
					if abs32(v) > abs32(x[imax]) {
						imax = i
					}
				}
				if x[imax] == 0 {
					assert.Equal(t, make([]byte, q8KBytes), blk)
					continue
				}
				assert.Equal(t, int8(-127), int8(blk[q8KOffQS+imax]), "largest magnitude value")
				for i, v := range x {
					assert.LessOrEqual(t, math.Abs(float64(deq[b*qkK+i])-float64(v)), 0.5001*math.Abs(float64(d)), "value %d", i)
				}
				for g := 0; g < 16; g++ {
					var s int32
					for _, q := range blk[q8KOffQS+16*g : q8KOffQS+16*g+16] {
						s += int32(int8(q))
					}
					assert.Equal(t, s, q8KBsum(blk, g))
				}
			}
		})
	}
}

// TestKQuantEdgeBlocks quantizes degenerate blocks (all zero, constant,
// a single spike, subnormal and huge values) and checks that the result
// dequantizes close to the input.
func TestKQuantEdgeBlocks(t *testing.T) {
	spike := make([]float32, 256)
	spike[100] = 5
	constant := make([]float32, 256)
	negConst := make([]float32, 256)
	for i := range constant {
		constant[i] = 0.25
		negConst[i] = -0.25
	}
	blocks := []struct {
		name string
		x    []float32
		tol  float64 // tolerated max error relative to max|x|
	}{
		{"zero", make([]float32, 256), 0},
		{"constant", constant, 0.5},
		{"negative constant", negConst, 0.5},
		{"spike", spike, 0.5},
	}
	for _, c := range kquantCases {
		tr, err := For(c.typ)
		require.NoError(t, err)
		for _, blk := range blocks {
			t.Run(c.typ.String()+"/"+blk.name, func(t *testing.T) {
				q := make([]byte, tr.TypeSize)
				tr.Quantize(q, blk.x)
				deq := make([]float32, 256)
				tr.Dequantize(deq, q)
				var amax float64
				for _, v := range blk.x {
					amax = math.Max(amax, math.Abs(float64(v)))
				}
				for i := range deq {
					require.LessOrEqual(t, math.Abs(float64(deq[i])-float64(blk.x[i])), blk.tol*amax+1e-7,
						"element %d: %g -> %g", i, blk.x[i], deq[i])
				}
			})
		}
	}
}

// TestKQuantMatVec checks that MatVec over a K-quant matrix equals VecDot
// row by row.
func TestKQuantMatVec(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const rows, n = 5, 512
	for _, c := range kquantCases {
		tr, err := For(c.typ)
		require.NoError(t, err)
		rowBytes := tr.RowSize(n)
		w := make([]byte, rows*rowBytes)
		tr.Quantize(w, randVec(r, rows*n, 0.1))
		a := make([]byte, n/qkK*q8KBytes)
		tr.QuantizeActivation(a, randVec(r, n, 1))
		dst := make([]float32, rows)
		MatVec(tr, dst, w, rowBytes, n, a, 0, rows)
		for row := 0; row < rows; row++ {
			assert.Equal(t, tr.VecDot(n, w[row*rowBytes:(row+1)*rowBytes], a), dst[row], "%s row %d", c.typ, row)
		}
	}
}

// randomKBlocks fills nb blocks of a K-quant type with random bytes (every
// quant and scale pattern) but finite, moderate fp16 super-block scales.
func randomKBlocks(r *rand.Rand, typ gguf.TensorType, nb int) []byte {
	tr, _ := For(typ)
	b := make([]byte, nb*tr.TypeSize)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	for i := 0; i < nb; i++ {
		blk := b[i*tr.TypeSize : (i+1)*tr.TypeSize]
		rnd := func() float32 { return float32(r.NormFloat64() * 0.01) }
		switch typ {
		case gguf.TypeQ2_K:
			putF16(blk[q2KOffD:], rnd())
			putF16(blk[q2KOffDmin:], rnd())
		case gguf.TypeQ3_K:
			putF16(blk[q3KOffD:], rnd())
		case gguf.TypeQ4_K, gguf.TypeQ5_K:
			putF16(blk[0:], rnd())
			putF16(blk[2:], rnd())
		case gguf.TypeQ6_K:
			putF16(blk[q6KOffD:], rnd())
		}
	}
	return b
}

// randomQ8K builds nb Q8_K blocks with random quants in [-127, 127] (the
// range quantize_row_q8_K produces), consistent bsums and random scales.
func randomQ8K(r *rand.Rand, nb int) []byte {
	a := make([]byte, nb*q8KBytes)
	for i := 0; i < nb; i++ {
		y := a[i*q8KBytes : (i+1)*q8KBytes]
		binary.LittleEndian.PutUint32(y, math.Float32bits(float32(r.NormFloat64()*0.01)))
		for g := 0; g < 16; g++ {
			s := 0
			for l := 0; l < 16; l++ {
				q := r.IntN(255) - 127
				y[q8KOffQS+16*g+l] = byte(int8(q))
				s += q
			}
			binary.LittleEndian.PutUint16(y[q8KOffBsums+2*g:], uint16(int16(s)))
		}
	}
	return a
}

// TestKQuantVecDotKernelsAgree runs every available VecDot implementation
// (portable Go and, where the CPU has it, AVX2) on random block bytes and
// requires identical results that also match a float64 dot product of the
// dequantized rows. Lengths cover partial and several 16-block batches.
func TestKQuantVecDotKernelsAgree(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	kernels := []struct {
		typ     gguf.TensorType
		generic func(int, []byte, []byte) float32
		avx2    func(int, []byte, []byte) float32
	}{
		{gguf.TypeQ2_K, vecDotQ2KQ8K, vecDotQ2KQ8KAVX2},
		{gguf.TypeQ3_K, vecDotQ3KQ8K, vecDotQ3KQ8KAVX2},
		{gguf.TypeQ4_K, vecDotQ4KQ8K, vecDotQ4KQ8KAVX2},
		{gguf.TypeQ5_K, vecDotQ5KQ8K, vecDotQ5KQ8KAVX2},
		{gguf.TypeQ6_K, vecDotQ6KQ8K, vecDotQ6KQ8KAVX2},
	}
	q8, err := For(gguf.TypeQ8_K)
	require.NoError(t, err)
	for _, k := range kernels {
		tr, err := For(k.typ)
		require.NoError(t, err)
		for _, nb := range []int{1, 3, 16, 17, 37} {
			t.Run(fmt.Sprintf("%s/%d", k.typ, nb), func(t *testing.T) {
				n := nb * qkK
				w := randomKBlocks(r, k.typ, nb)
				a := randomQ8K(r, nb)
				wd := make([]float32, n)
				tr.Dequantize(wd, w)
				ad := make([]float32, n)
				q8.Dequantize(ad, a)
				var want, mag float64
				for i := range wd {
					want += float64(wd[i]) * float64(ad[i])
					mag += math.Abs(float64(wd[i]) * float64(ad[i]))
				}
				got := k.generic(n, w, a)
				assert.LessOrEqual(t, math.Abs(float64(got)-want), 1e-5*mag, "generic: %g vs float64 %g", got, want)
				if useAVX2 && k.avx2 != nil {
					assert.Equal(t, k.avx2(n, w, a), tr.VecDot(n, w, a), "traits VecDot is the AVX2 kernel")
				} else {
					assert.Equal(t, got, tr.VecDot(n, w, a), "traits VecDot is the Go kernel")
				}
				if k.avx2 != nil {
					if !useAVX2 {
						t.Log("!!! AVX2 kernel not tested: this CPU or build has no AVX2")
						return
					}
					// ggml's lane order: equal to the Go sum up to float rounding.
					avx := k.avx2(n, w, a)
					assert.LessOrEqual(t, math.Abs(float64(avx)-want), 1e-5*mag, "AVX2 kernel: %g vs float64 %g", avx, want)
				}
			})
		}
	}
}
