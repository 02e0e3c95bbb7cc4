package gpu

import (
	"fmt"

	"github.com/cogentcore/webgpu/wgpu"
	"github.com/hearthllm/hearth/engine"
	"github.com/hearthllm/hearth/gguf"
)

// weight is a matrix resident on the GPU in its GGUF block layout, split
// into row ranges that each fit one storage binding.
type weight struct {
	name     string
	typ      gguf.TensorType
	rows     int
	cols     int
	rowBytes int
	chunks   []chunk
}

type chunk struct {
	buf  *wgpu.Buffer
	row0 int
	rows int
}

// uploadWeight uploads the row-wise concatenation of ts (same type and
// row length) once. maxRowsPerChunk of 0 means the binding limit decides.
func (r *resources) uploadWeight(name string, maxRowsPerChunk int, ts ...engine.Tensor) (*weight, error) {
	t0 := ts[0]
	if !Supported(t0.Type) {
		return nil, fmt.Errorf("gpu: %s: no kernel for type %s", t0.Name, t0.Type)
	}
	if t0.Cols%unitElems(t0.Type) != 0 {
		return nil, fmt.Errorf("gpu: %s: row length %d is not a multiple of %d", t0.Name, t0.Cols, unitElems(t0.Type))
	}
	w := &weight{name: name, typ: t0.Type, cols: t0.Cols, rowBytes: t0.RowBytes()}
	type part struct {
		data []byte
		rows int
	}
	var parts []part
	for _, t := range ts {
		if t.Type != w.typ || t.Cols != w.cols {
			return nil, fmt.Errorf("gpu: %s: cannot concatenate %s (%s, %d cols) with %s (%s, %d cols)",
				name, t.Name, t.Type, t.Cols, t0.Name, t0.Type, t0.Cols)
		}
		parts = append(parts, part{t.Data, t.Rows})
		w.rows += t.Rows
	}
	limit := int(r.d.limits.MaxStorageBufferBindingSize) - 8
	per := limit / w.rowBytes
	if maxRowsPerChunk > 0 && maxRowsPerChunk < per {
		per = maxRowsPerChunk
	}
	if per < 1 {
		return nil, fmt.Errorf("gpu: %s: one row (%d bytes) exceeds the binding limit", name, w.rowBytes)
	}
	// walk the rows of all parts, cutting chunks of at most per rows
	pi, pr := 0, 0 // part index, row within part
	for r0 := 0; r0 < w.rows; r0 += per {
		n := min(per, w.rows-r0)
		var pieces [][]byte
		for left := n; left > 0; {
			p := parts[pi]
			take := min(left, p.rows-pr)
			pieces = append(pieces, p.data[pr*w.rowBytes:(pr+take)*w.rowBytes])
			left -= take
			pr += take
			if pr == p.rows {
				pi, pr = pi+1, 0
			}
		}
		buf, err := r.upload(fmt.Sprintf("%s[%d]", name, r0), pieces...)
		if err != nil {
			return nil, err
		}
		w.chunks = append(w.chunks, chunk{buf: buf, row0: r0, rows: n})
	}
	return w, nil
}

// Output modes of the matrix kernel.
const (
	modeStore   = "STORE"
	modeAdd     = "ADD"
	modeSiluMul = "SILUMUL"
	modeSwiGLU  = "SWIGLU"
)

// mv describes one matrix product y = W x for the dispatch builder.
type mv struct {
	w       *weight
	x, y    *wgpu.Buffer
	yOff    int
	yStride int
	mode    string
	norm    *wgpu.Buffer // fused RMSNorm weight (decode only), or nil
	eps     float32
	last    bool      // only the batch's last token
	tt      int       // tokens per pass: 1 for decode
	comb    *combSpec // decode: x holds split attention partials to merge (mvd.go)
	tail    *tailSpec // decode (ADD): the last workgroup prepares the next products' row
	prep    *tailSpec // decode: x is this prepared row (norm stays bound)
}

// matvec builds the dispatches of m, one per weight chunk.
func (r *resources) matvec(step *wgpu.Buffer, m mv) ([]dispatch, error) {
	defs := map[string]bool{m.mode: true, "NORM": m.norm != nil, "LAST": m.last}
	// decode: rows of tpr threads in workgroups of 256; float types stream
	// long rows best with 32 threads a row, block types with 8 (measured
	// on an H200, docs/benchmarks-gpu.md)
	tpr := r.tpr
	if tpr == 0 {
		tpr = 8
		if unitElems(m.w.typ) == 4 {
			tpr = 32
		}
	}
	rpw := 256 / tpr
	if m.tt > 1 {
		tpr, rpw = 64, 4
	}
	consts := map[string]int{"TT": m.tt, "TPR": tpr, "RPW": rpw, "WG": tpr * rpw, "REDN": tpr * rpw * m.tt}
	src, err := buildShader("matvec", typeKernel[m.w.typ], consts, defs)
	if err != nil {
		return nil, err
	}
	label := fmt.Sprintf("matvec %s %s norm=%v last=%v tt=%d", m.w.typ, m.mode, m.norm != nil, m.last, m.tt)
	p, err := r.pipeline(label, src)
	if err != nil {
		return nil, err
	}
	var out []dispatch
	for _, c := range m.w.chunks {
		rows, half := c.rows, 0
		if m.mode == modeSwiGLU {
			if len(m.w.chunks) != 1 {
				return nil, fmt.Errorf("gpu: %s: SwiGLU weight split across bindings", m.w.name)
			}
			rows, half = c.rows/2, c.rows/2
		}
		u, err := r.uniform(m.w.name+" params", uint32(rows), uint32(m.w.cols), uint32(m.w.rowBytes),
			uint32(m.yOff+c.row0), uint32(m.yStride), uint32(half), f32w(m.eps), 0)
		if err != nil {
			return nil, err
		}
		bufs := []*wgpu.Buffer{c.buf, m.x, m.y, u, step}
		if m.norm != nil {
			bufs = append(bufs, m.norm)
		}
		bg, err := r.bind(m.w.name, p, bufs...)
		if err != nil {
			return nil, err
		}
		gx, gy := grid((rows + rpw - 1) / rpw)
		out = append(out, dispatch{label: m.w.name, pipe: p, bg: bg, x: gx, y: gy})
	}
	return out, nil
}
