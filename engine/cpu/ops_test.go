package cpu

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/cpu"
)

// TestVExpf checks the AVX2 exponential against float64 exp: ggml states a
// maximum error of 1.45358 + 0.5 ulp, flushing to 0 below -103.97 and to
// +Inf above 88.38.
func TestVExpf(t *testing.T) {
	for x := float32(-103); x < 88; x += 0.0137 {
		want := math.Exp(float64(x))
		got := float64(vExpf(x))
		ulp := float64(math.Nextafter32(float32(want), float32(math.Inf(1)))) - float64(float32(want))
		if math.Abs(got-want) > 2*ulp {
			t.Fatalf("vExpf(%g) = %g, exp = %g (%.2f ulp)", x, got, want, math.Abs(got-want)/ulp)
		}
	}
	assert.Equal(t, float32(1), vExpf(0))
	assert.Equal(t, float32(0), vExpf(float32(math.Inf(-1))))
	assert.Equal(t, float32(0), vExpf(-200))
	assert.True(t, math.IsInf(float64(vExpf(100)), 1))
}

// TestSoftmaxSwiGLU checks the ggml-style softmax and SwiGLU against
// float64 formulas.
func TestSoftmaxSwiGLU(t *testing.T) {
	x := make([]float32, 21)
	g := make([]float32, 21)
	u := make([]float32, 21)
	for i := range x {
		x[i] = float32(math.Sin(float64(i)*1.7)) * 5
		g[i] = float32(math.Cos(float64(i)*0.9)) * 4
		u[i] = float32(i%5) - 2
	}
	x[20] = float32(math.Inf(-1)) // a masked entry
	want := make([]float64, len(x))
	mx, sum := math.Inf(-1), 0.0
	for _, v := range x {
		mx = math.Max(mx, float64(v))
	}
	for i, v := range x {
		want[i] = math.Exp(float64(v) - mx)
		sum += want[i]
	}
	softmax(x)
	for i := range x {
		assert.InDelta(t, want[i]/sum, float64(x[i]), 1e-6, "softmax[%d]", i)
	}
	wantG := make([]float64, len(g))
	for i, v := range g {
		wantG[i] = float64(v) / (1 + math.Exp(-float64(v))) * float64(u[i])
	}
	swiGLU(g, u)
	for i := range g {
		assert.InDelta(t, wantG[i], float64(g[i]), 1e-5, "swiglu[%d]", i)
	}
}

// TestSincosfMatchesLibm checks sincosf bit for bit against the C library's
// sinf, cosf and sincosf (glibc's, which llama.cpp's RoPE calls), built
// from testdata/libm_sincosf.c, on random finite floats and on the angles
// RoPE asks for. It also checks it against float64 math within glibc's
// stated 0.5607 ulp everywhere.
func TestSincosfMatchesLibm(t *testing.T) {
	var xs []float32
	rng := rand.New(rand.NewPCG(5, 6))
	for len(xs) < 200000 {
		x := math.Float32frombits(rng.Uint32())
		if !math.IsNaN(float64(x)) && !math.IsInf(float64(x), 0) {
			xs = append(xs, x)
		}
	}
	for i := 0; i < 100000; i++ {
		xs = append(xs, float32(rng.Float64()*300), -float32(rng.Float64()*4), float32(rng.Float64()*1e5))
	}
	for _, base := range []float32{10000, 500000} {
		for _, nRot := range []int{8, 64, 128} {
			ts := float32(math.Pow(float64(base), float64(float32(-2)/float32(nRot))))
			for p := 0; p < 4096; p += 3 {
				theta := float32(p)
				for i := 0; i < nRot/2; i++ {
					xs = append(xs, theta)
					theta *= ts
				}
			}
		}
	}
	for _, x := range xs {
		s, c := sincosf(x)
		for _, r := range []struct {
			got  float32
			want float64
		}{{s, math.Sin(float64(x))}, {c, math.Cos(float64(x))}} {
			ulp := math.Abs(float64(math.Nextafter32(float32(r.want), float32(math.Inf(1)))) - float64(float32(r.want)))
			if ulp == 0 || math.IsInf(ulp, 0) {
				continue
			}
			if d := math.Abs(float64(r.got)-r.want) / ulp; d > 0.5607 && math.Abs(r.want) > 1e-30 {
				t.Fatalf("sincosf(%g) = %g, %g: %.3f ulp from %g", x, s, c, d, r.want)
			}
		}
	}

	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" || !cpu.X86.HasFMA || !cpu.X86.HasAVX2 {
		t.Skip("SKIPPING the libm comparison: sincosf follows glibc's x86-64 FMA build, not this platform's libm")
	}
	cc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skipf("!!! SKIPPING the libm comparison: no gcc to build testdata/libm_sincosf.c: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "libm_sincosf")
	out, err := exec.Command(cc, "-O1", "-o", bin, "testdata/libm_sincosf.c", "-lm").CombinedOutput()
	require.NoError(t, err, "%s", out)
	in := make([]byte, 4*len(xs))
	for i, x := range xs {
		binary.LittleEndian.PutUint32(in[4*i:], math.Float32bits(x))
	}
	cmd := exec.Command(bin)
	cmd.Stdin = bytes.NewReader(in)
	res, err := cmd.Output()
	require.NoError(t, err)
	require.Len(t, res, 16*len(xs))
	bad := 0
	for i, x := range xs {
		s, c := sincosf(x)
		for k, got := range []float32{s, c, s, c} {
			want := math.Float32frombits(binary.LittleEndian.Uint32(res[16*i+4*k:]))
			if math.Float32bits(got) != math.Float32bits(want) {
				if bad < 5 {
					t.Errorf("sincosf(%g) result %d = %g, libm %g", x, k, got, want)
				}
				bad++
			}
		}
	}
	assert.Zero(t, bad, "results differing from libm among %d", 4*len(xs))
}

// TestRopeNormFMA checks the rotation's rounding: each output is one fused
// multiply-add of one product onto the other product rounded to float32.
func TestRopeNormFMA(t *testing.T) {
	x := []float32{0.3, -1.7, 2.5, 0.001}
	cs := []float32{0.5403023, 0.84147096, 0.99950004, 0.031617507}
	got := append([]float32(nil), x...)
	ropeNorm(got, 1, 4, cs)
	for i := 0; i < 4; i += 2 {
		c, s := float64(cs[i]), float64(cs[i+1])
		x0, x1 := float64(x[i]), float64(x[i+1])
		assert.Equal(t, float32(x0*c-float64(float32(x1*s))), got[i])
		assert.Equal(t, float32(x0*s+float64(float32(x1*c))), got[i+1])
	}
}
