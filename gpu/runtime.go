package gpu

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/cogentcore/webgpu/wgpu"
)

// dispatch is one recorded compute dispatch. Pipelines and bind groups are
// built at load; per Eval only the grid's token dimension changes.
type dispatch struct {
	label string
	pipe  *wgpu.ComputePipeline
	bg    *wgpu.BindGroup
	x, y  uint32
	// tokX/tokY: multiply that grid dimension by the batch's token count.
	tokX, tokY bool
	// tokTile, when not 0, multiplies y by the number of tokTile-token
	// tiles of the batch (the prefill GEMM, prefill.go).
	tokTile uint32
}

// resources tracks what a Backend must release.
type resources struct {
	d       *device
	bufs    []*wgpu.Buffer
	bgs     []*wgpu.BindGroup
	pipes   map[string]*wgpu.ComputePipeline
	modules []*wgpu.ShaderModule
	tpr     int // threads per row of the decode matrix kernel (power of 2, <= 256; 0: by type)
	tune    mvdTuning

	// fma: whether the adapter's fma() is fused, probed when the first
	// shader using round.wgsl's exact helpers is built (numerics.go).
	fma fmaState

	// gemmParts: the prefill GEMM's split-K partial sums, one buffer per
	// size, shared by the products (prefill.go).
	gemmParts map[int]*wgpu.Buffer

	// unused: small buffers bound where a product writes nothing (mvd.go:
	// the QKV products' targets a run does not reach), by slot.
	unused map[int]*wgpu.Buffer
}

// unusedBuffer returns slot i's small buffer that a dispatch may bind as
// writable without touching any real one, so that dispatches writing
// disjoint buffers need no barrier between them.
func (r *resources) unusedBuffer(i int) (*wgpu.Buffer, error) {
	if b := r.unused[i]; b != nil {
		return b, nil
	}
	b, err := r.buffer(fmt.Sprintf("unused %d", i), 16, 0)
	if err != nil {
		return nil, err
	}
	if r.unused == nil {
		r.unused = map[int]*wgpu.Buffer{}
	}
	r.unused[i] = b
	return b, nil
}

func (r *resources) release() {
	for _, bg := range r.bgs {
		bg.Release()
	}
	for _, p := range r.pipes {
		p.Release()
	}
	for _, m := range r.modules {
		m.Release()
	}
	for _, b := range r.bufs {
		b.Destroy()
		b.Release()
	}
	r.bgs, r.pipes, r.modules, r.bufs = nil, nil, nil, nil
}

func pad4(n int) uint64 { return uint64((n+3)&^3) + 4 }

// buffer creates a storage buffer of n bytes (plus a spare word).
func (r *resources) buffer(label string, n int, extra wgpu.BufferUsage) (*wgpu.Buffer, error) {
	b, err := r.d.dev.CreateBuffer(&wgpu.BufferDescriptor{
		Label: label,
		Size:  pad4(n),
		Usage: wgpu.BufferUsageStorage | wgpu.BufferUsageCopyDst | wgpu.BufferUsageCopySrc | extra,
	})
	if err != nil {
		return nil, fmt.Errorf("gpu: buffer %s (%d bytes): %w", label, n, err)
	}
	r.bufs = append(r.bufs, b)
	return b, nil
}

// upload creates a storage buffer holding the concatenation of parts.
func (r *resources) upload(label string, parts ...[]byte) (*wgpu.Buffer, error) {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	b, err := r.d.dev.CreateBuffer(&wgpu.BufferDescriptor{
		Label:            label,
		Size:             pad4(n),
		Usage:            wgpu.BufferUsageStorage | wgpu.BufferUsageCopyDst,
		MappedAtCreation: true,
	})
	if err != nil {
		return nil, fmt.Errorf("gpu: upload %s (%d bytes): %w", label, n, err)
	}
	r.bufs = append(r.bufs, b)
	dst := b.GetMappedRange(0, uint(pad4(n)))
	off := 0
	for _, p := range parts {
		off += copy(dst[off:], p)
	}
	clear(dst[off:])
	if err := b.Unmap(); err != nil {
		return nil, fmt.Errorf("gpu: upload %s: %w", label, err)
	}
	return b, nil
}

// uniform creates a uniform buffer holding the given 32-bit words (padded
// to 16 bytes). Float32 values are passed as math.Float32bits.
func (r *resources) uniform(label string, words ...uint32) (*wgpu.Buffer, error) {
	n := (len(words) + 3) &^ 3
	data := make([]byte, 4*n)
	for i, w := range words {
		binary.LittleEndian.PutUint32(data[4*i:], w)
	}
	b, err := r.d.dev.CreateBufferInit(&wgpu.BufferInitDescriptor{
		Label:    label,
		Contents: data,
		Usage:    wgpu.BufferUsageUniform,
	})
	if err != nil {
		return nil, fmt.Errorf("gpu: uniform %s: %w", label, err)
	}
	r.bufs = append(r.bufs, b)
	return b, nil
}

func f32w(f float32) uint32 { return math.Float32bits(f) }

// pipeline compiles (once per distinct source) a compute pipeline.
func (r *resources) pipeline(label, src string) (*wgpu.ComputePipeline, error) {
	src, err := r.withFMAConst(src)
	if err != nil {
		return nil, err
	}
	if p, ok := r.pipes[src]; ok {
		return p, nil
	}
	mod, err := r.d.dev.CreateShaderModule(&wgpu.ShaderModuleDescriptor{
		Label:          label,
		WGSLDescriptor: &wgpu.ShaderModuleWGSLDescriptor{Code: src},
	})
	if err != nil {
		return nil, fmt.Errorf("gpu: shader %s: %w", label, err)
	}
	r.modules = append(r.modules, mod)
	p, err := r.d.dev.CreateComputePipeline(&wgpu.ComputePipelineDescriptor{
		Label:   label,
		Compute: wgpu.ProgrammableStageDescriptor{Module: mod, EntryPoint: "main"},
	})
	if err != nil {
		return nil, fmt.Errorf("gpu: pipeline %s: %w", label, err)
	}
	if r.pipes == nil {
		r.pipes = map[string]*wgpu.ComputePipeline{}
	}
	r.pipes[src] = p
	return p, nil
}

// bind creates a bind group for p's group 0 with the buffers in binding order.
func (r *resources) bind(label string, p *wgpu.ComputePipeline, bufs ...*wgpu.Buffer) (*wgpu.BindGroup, error) {
	layout := p.GetBindGroupLayout(0)
	defer layout.Release()
	entries := make([]wgpu.BindGroupEntry, len(bufs))
	for i, b := range bufs {
		entries[i] = wgpu.BindGroupEntry{Binding: uint32(i), Buffer: b, Size: wgpu.WholeSize}
	}
	bg, err := r.d.dev.CreateBindGroup(&wgpu.BindGroupDescriptor{Label: label, Layout: layout, Entries: entries})
	if err != nil {
		return nil, fmt.Errorf("gpu: bind group %s: %w", label, err)
	}
	r.bgs = append(r.bgs, bg)
	return bg, nil
}

// grid splits n workgroups over x and y (at most 65535 per dimension).
func grid(n int) (uint32, uint32) {
	if n <= 65535 {
		return uint32(n), 1
	}
	return 65535, uint32((n + 65534) / 65535)
}

// encode records ds into one compute pass for a batch of nTok tokens.
func encode(pass *wgpu.ComputePassEncoder, ds []dispatch, nTok int) {
	var last *wgpu.ComputePipeline
	for i := range ds {
		d := &ds[i]
		x, y := d.x, d.y
		if d.tokX {
			x *= uint32(nTok)
		}
		if d.tokY {
			y *= uint32(nTok)
		}
		if d.tokTile > 0 {
			y *= (uint32(nTok) + d.tokTile - 1) / d.tokTile
		}
		if d.pipe != last { // consecutive products of one kind share a pipeline
			pass.SetPipeline(d.pipe)
			last = d.pipe
		}
		pass.SetBindGroup(0, d.bg, nil)
		pass.DispatchWorkgroups(x, y, 1)
	}
}
