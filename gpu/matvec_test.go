package gpu

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/cogentcore/webgpu/wgpu"
	"github.com/hearthllm/hearth/engine"
	"github.com/hearthllm/hearth/gguf"
	"github.com/hearthllm/hearth/internal/testmodels"
	"github.com/hearthllm/hearth/quant"
	"github.com/stretchr/testify/require"
)

func loadTestModel(t *testing.T, rel string) *engine.Model {
	t.Helper()
	f, err := gguf.Open(testmodels.Path(t, rel))
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	m, err := engine.LoadModel(f)
	require.NoError(t, err)
	return m
}

var synthTypes = []string{"f32", "f16", "bf16", "q4_0", "q4_1", "q5_0", "q5_1", "q8_0", "q2_k", "q3_k", "q4_k", "q5_k", "q6_k"}

// run records ds into one command buffer for nTok tokens at pos and waits.
func run(t *testing.T, d *device, step *wgpu.Buffer, ds []dispatch, nTok, pos int, toks []uint32) {
	t.Helper()
	hdr := make([]byte, 16+4*len(toks))
	binary.LittleEndian.PutUint32(hdr[0:], uint32(nTok))
	binary.LittleEndian.PutUint32(hdr[4:], uint32(pos))
	for i, tk := range toks {
		binary.LittleEndian.PutUint32(hdr[16+4*i:], tk)
	}
	require.NoError(t, d.queue.WriteBuffer(step, 0, hdr))
	d.scope.push()
	enc, err := d.dev.CreateCommandEncoder(nil)
	require.NoError(t, err)
	pass := enc.BeginComputePass(nil)
	encode(pass, ds, nTok)
	require.NoError(t, pass.End())
	pass.Release()
	cb, err := enc.Finish(nil)
	require.NoError(t, err)
	d.queue.Submit(cb)
	cb.Release()
	enc.Release()
	d.dev.Poll(true, nil)
	require.NoError(t, d.scope.pop("test"))
}

// readF32 copies n floats out of a storage buffer.
func readF32(t *testing.T, d *device, src *wgpu.Buffer, n int) []float32 {
	t.Helper()
	rb, err := d.dev.CreateBuffer(&wgpu.BufferDescriptor{Size: uint64(4 * n), Usage: wgpu.BufferUsageMapRead | wgpu.BufferUsageCopyDst})
	require.NoError(t, err)
	defer rb.Release()
	enc, err := d.dev.CreateCommandEncoder(nil)
	require.NoError(t, err)
	require.NoError(t, enc.CopyBufferToBuffer(src, 0, rb, 0, uint64(4*n)))
	cb, err := enc.Finish(nil)
	require.NoError(t, err)
	d.queue.Submit(cb)
	require.NoError(t, d.scope.mapRead(rb, 4*n))
	d.dev.Poll(true, nil)
	done, st := d.scope.mapped()
	require.True(t, done)
	require.Equal(t, wgpu.BufferMapAsyncStatusSuccess, st)
	out := make([]float32, n)
	copy(out, wgpu.FromBytes[float32](rb.GetMappedRange(0, uint(4*n))))
	require.NoError(t, rb.Unmap())
	return out
}

func f32Bytes(x []float32) []byte { return wgpu.ToBytes(x) }

// refMatVec is the float64 reference: dequantize each row with quant and
// dot with x.
func refMatVec(t *testing.T, w engine.Tensor, x []float64) []float64 {
	t.Helper()
	tr, err := quant.For(w.Type)
	require.NoError(t, err)
	row := make([]float32, w.Cols)
	rb := w.RowBytes()
	y := make([]float64, w.Rows)
	for r := 0; r < w.Rows; r++ {
		tr.Dequantize(row, w.Data[r*rb:(r+1)*rb])
		var s float64
		for i, v := range row {
			s += float64(v) * x[i]
		}
		y[r] = s
	}
	return y
}

// TestMatVecAllTypes checks the fused dequantize+matvec kernels of every
// type, one token (decode) and a batch (prefill), against the float64
// reference built on quant's dequantizers, on the tiny-synth tensors.
func TestMatVecAllTypes(t *testing.T) {
	d := testDevice(t)
	for _, typ := range synthTypes {
		t.Run(typ, func(t *testing.T) {
			m := loadTestModel(t, "synthetic/tiny-synth-"+typ+".gguf")
			r := &resources{d: d}
			defer r.release()
			rng := rand.New(rand.NewPCG(1, uint64(len(typ))))
			for _, w := range []engine.Tensor{m.Layers[0].Wq, m.Layers[1].WDown, m.Output} {
				for _, nTok := range []int{1, 3, 11} {
					tt := 8
					if nTok == 1 {
						tt = 1
					}
					gw, err := r.uploadWeight(w.Name, 100, w) // 100 rows per chunk: exercises splitting
					require.NoError(t, err)
					x := make([]float32, nTok*w.Cols)
					for i := range x {
						x[i] = float32(rng.NormFloat64())
					}
					xb, err := r.upload("x", f32Bytes(x))
					require.NoError(t, err)
					yb, err := r.buffer("y", 4*nTok*w.Rows, 0)
					require.NoError(t, err)
					step, err := r.buffer("step", 64, 0)
					require.NoError(t, err)
					ds, err := r.matvec(step, mv{w: gw, x: xb, y: yb, yStride: w.Rows, mode: modeStore, tt: tt})
					require.NoError(t, err)
					run(t, d, step, ds, nTok, 0, nil)
					got := readF32(t, d, yb, nTok*w.Rows)
					for tk := 0; tk < nTok; tk++ {
						x64 := make([]float64, w.Cols)
						for i := range x64 {
							x64[i] = float64(x[tk*w.Cols+i])
						}
						want := refMatVec(t, w, x64)
						var num, den float64
						for i, v := range want {
							e := float64(got[tk*w.Rows+i]) - v
							num += e * e
							den += v * v
						}
						rel := math.Sqrt(num / den)
						require.Lessf(t, rel, 1e-5, "%s %s token %d of %d: relative error %g", typ, w.Name, tk, nTok, rel)
					}
				}
			}
		})
	}
}
