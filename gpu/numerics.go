package gpu

import (
	"fmt"
	"math"
	"strings"

	"github.com/cogentcore/webgpu/wgpu"
)

// fmaState records what probeFMA measured: unknown until the first shader
// that needs it is built.
type fmaState uint8

const (
	fmaUnprobed fmaState = iota
	fmaUnfused
	fmaFused
)

// withFMAConst prepends the FMA_NATIVE constant that round.wgsl's exact
// helpers branch on to a shader source that names it, probing the adapter
// once (gpu/NUMERICS.md). Other sources are returned unchanged.
func (r *resources) withFMAConst(src string) (string, error) {
	if !strings.Contains(src, "FMA_NATIVE") {
		return src, nil
	}
	if r.fma == fmaUnprobed {
		fused, err := r.probeFMA()
		if err != nil {
			return "", err
		}
		r.fma = fmaUnfused
		if fused {
			r.fma = fmaFused
		}
	}
	return fmt.Sprintf("const FMA_NATIVE: bool = %t;\n", r.fma == fmaFused) + src, nil
}

// probeFMA reports whether the adapter's WGSL fma() rounds once. With
// a = b = 1+2^-12 and c = -(1+2^-11), a fused a*b+c is 2^-24 while a rounded
// product plus a rounded sum gives 0. The kernels that reproduce the CPU's
// arithmetic use fma() only when it is fused and emulate it otherwise
// (round.wgsl's fma_x).
func (r *resources) probeFMA() (bool, error) {
	const src = `
@group(0) @binding(0) var<storage, read_write> V: array<f32>;
@compute @workgroup_size(1)
fn main() {
    V[3] = fma(V[0], V[1], V[2]);
}
`
	p, err := r.pipeline("probe fma", src)
	if err != nil {
		return false, err
	}
	a := float32(1 + 1.0/4096)
	in := []float32{a, a, -(1 + 1.0/2048), 0}
	buf, err := r.d.dev.CreateBufferInit(&wgpu.BufferInitDescriptor{
		Label:    "probe fma",
		Contents: wgpu.ToBytes(in),
		Usage:    wgpu.BufferUsageStorage | wgpu.BufferUsageCopySrc,
	})
	if err != nil {
		return false, fmt.Errorf("gpu: probe fma: %w", err)
	}
	r.bufs = append(r.bufs, buf)
	rb, err := d2hBuffer(r, "probe fma readback", 16)
	if err != nil {
		return false, err
	}
	bg, err := r.bind("probe fma", p, buf)
	if err != nil {
		return false, err
	}
	d := r.d
	rec := newRecorder(d)
	defer rec.free()
	d.scope.push()
	cb, err := rec.record([]dispatch{{pipe: p, bg: bg, x: 1, y: 1}}, 1, copySpec{buf, rb, 16}, copySpec{})
	if err == nil {
		rec.submit(cb)
	}
	if perr := d.scope.pop("probe fma"); perr != nil {
		return false, perr
	}
	if err != nil {
		return false, fmt.Errorf("gpu: probe fma: %w", err)
	}
	var got float32
	if err := d.readback("probe fma", rb, 16, func(p []byte) { got = wgpu.FromBytes[float32](p)[3] }); err != nil {
		return false, err
	}
	return got == float32(math.Ldexp(1, -24)), nil
}
