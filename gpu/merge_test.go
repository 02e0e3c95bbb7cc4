package gpu

import (
	"math"
	"strings"
	"testing"

	"github.com/cogentcore/webgpu/wgpu"
	"github.com/stretchr/testify/require"
)

// Two programs with the same names for different things: merged, each
// workgroup must compute what its own program computes.
const mergeA = `
struct Par { k: u32, off: u32, }
@group(0) @binding(0) var<storage, read> W: array<u32>;
@group(0) @binding(1) var<storage, read_write> Y: array<u32>;
@group(0) @binding(2) var<uniform> P: Par;
const WG: u32 = 64u;
const K: u32 = 3u;
var<workgroup> red: array<u32, WG>;
// f is the program's own element function
fn f(x: u32) -> u32 { return x * K + P.k; }
fn g(x: u32) -> u32 { return f(x) + 1u; }
@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(num_workgroups) nw: vec3<u32>) {
    red[lid.x] = g(W[wid.x * WG + lid.x]);
    workgroupBarrier();
    if (lid.x == 0u) {
        var s = 0u;
        for (var i = 0u; i < WG; i++) { s += red[i]; }
        Y[P.off + wid.x] = s * 1000u + nw.x;
    }
}
`

const mergeB = `
struct Par { k: u32, off: u32, }
@group(0) @binding(0) var<storage, read> W: array<vec2<u32>>;
@group(0) @binding(1) var<storage, read_write> Y: array<u32>;
@group(0) @binding(2) var<uniform> P: Par;
const WG: u32 = 64u;
const K: u32 = 5u;
var<workgroup> red: array<u32, WG>;
fn f(x: u32) -> u32 { return x * K + P.k; }
fn g(x: u32) -> u32 { return f(x) + 1u; }
@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(num_workgroups) nw: vec3<u32>) {
    let w = W[wid.x * WG + lid.x];
    red[lid.x] = g(w.x + w.y);
    workgroupBarrier();
    if (lid.x == 0u) {
        var s = 0u;
        for (var i = 0u; i < WG; i++) { s += red[i]; }
        Y[P.off + wid.x] = s * 1000u + nw.x;
    }
}
`

func TestMergeEntriesText(t *testing.T) {
	src, extra, err := mergeEntries(mergeA, mergeB, 3, func(b int) bool { return b == 1 })
	require.NoError(t, err)
	require.Equal(t, []int{0, 2}, extra, "b's weights and uniform get their own bindings")
	for _, want := range []string{
		"@binding(3) var<storage, read> W_mb: array<vec2<u32>>",
		"@binding(4) var<uniform> P_mb: Par;", // Par is alike: shared
		"const K_mb: u32 = 5u;",
		"fn f_mb(x: u32) -> u32 { return x * K_mb + P_mb.k; }",
		"fn g_mb(x: u32) -> u32 { return f_mb(x) + 1u; }", // alike text, but calls b's f
		"fn main_ma(",
		"fn main_mb(",
	} {
		require.Contains(t, src, want)
	}
	require.Equal(t, 1, strings.Count(src, "var<workgroup> red"), "alike workgroup memory is shared")
	require.Equal(t, 1, strings.Count(src, "const WG"))
	for _, c := range []struct{ name, a, b string }{
		{"workgroup sizes differ", mergeA, strings.Replace(mergeB, "@workgroup_size(WG)", "@workgroup_size(32)", 1)},
		{"no entry point", mergeA, strings.Replace(mergeB, "fn main(", "fn other(", 1)},
		{"other builtins", mergeA, strings.Replace(mergeB, ",\n        @builtin(num_workgroups) nw: vec3<u32>", "", 1)},
		{"global ids", strings.Replace(mergeA, "workgroup_id) wid", "global_invocation_id) wid", 1),
			strings.Replace(mergeB, "workgroup_id) wid", "global_invocation_id) wid", 1)},
		{"unterminated", mergeA, mergeB[:len(mergeB)-4]},
		{"not a declaration", mergeA, mergeB + "\nfoo bar;\n"},
	} {
		_, _, err := mergeEntries(c.a, c.b, 3, func(int) bool { return true })
		require.Error(t, err, c.name)
	}
}

func TestMergeEntriesRun(t *testing.T) {
	d := testDevice(t)
	r := &resources{d: d}
	defer r.release()
	const nwa, nwb, wg = 3, 2, 64
	src, extra, err := mergeEntries(mergeA, mergeB, nwa, func(b int) bool { return b == 1 })
	require.NoError(t, err)
	p, err := r.pipeline("merged", src)
	require.NoError(t, err)
	wa := make([]uint32, nwa*wg)
	for i := range wa {
		wa[i] = uint32(i*7 + 1)
	}
	wb := make([]uint32, 2*nwb*wg)
	for i := range wb {
		wb[i] = uint32(i*3 + 2)
	}
	ba, err := r.upload("wa", wgpu.ToBytes(wa))
	require.NoError(t, err)
	bb, err := r.upload("wb", wgpu.ToBytes(wb))
	require.NoError(t, err)
	ua, err := r.uniform("pa", 10, 0)
	require.NoError(t, err)
	ub, err := r.uniform("pb", 20, nwa)
	require.NoError(t, err)
	y, err := d.dev.CreateBuffer(&wgpu.BufferDescriptor{Size: 4 * (nwa + nwb),
		Usage: wgpu.BufferUsageStorage | wgpu.BufferUsageCopySrc})
	require.NoError(t, err)
	r.bufs = append(r.bufs, y)
	own := map[int]*wgpu.Buffer{0: bb, 2: ub}
	bufs := []*wgpu.Buffer{ba, y, ua}
	for _, k := range extra {
		bufs = append(bufs, own[k])
	}
	bg, err := r.bind("merged", p, bufs...)
	require.NoError(t, err)
	sb, err := r.buffer("step", 64, 0)
	require.NoError(t, err)
	run(t, d, sb, []dispatch{{pipe: p, bg: bg, x: nwa + nwb, y: 1}}, 1, 0, nil)
	got := readF32(t, d, y, nwa+nwb)
	for w := 0; w < nwa+nwb; w++ {
		var s uint32
		for l := 0; l < wg; l++ {
			if w < nwa {
				s += wa[w*wg+l]*3 + 10 + 1
			} else {
				i := (w-nwa)*wg + l
				s += (wb[2*i]+wb[2*i+1])*5 + 20 + 1
			}
		}
		want := s*1000 + nwa
		if w >= nwa {
			want = s*1000 + nwb
		}
		require.Equal(t, want, math.Float32bits(got[w]), "workgroup %d", w)
	}
}
