package gpu

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestArgmaxKernel runs the greedy-pick kernel on logit vectors built to
// catch partitioning mistakes (the maximum in every stripe, the last
// element, ties between stripes, threads and workgroups, lengths that leave
// stripes or the last workgroup partly empty) against a plain scan: the
// lowest index of the largest value.
func TestArgmaxKernel(t *testing.T) {
	d := testDevice(t)
	rng := rand.New(rand.NewPCG(3, 9))
	type tc struct {
		name string
		x    []float32
	}
	random := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		return x
	}
	var cases []tc
	for _, n := range []int{1, 7, 255, 256, 257, 2047, 2048, 2049, 32000, 128256} {
		cases = append(cases, tc{"random", random(n)})
		x := random(n)
		x[n-1] = 100
		cases = append(cases, tc{"last", x})
		x = random(n)
		x[0] = 100
		cases = append(cases, tc{"first", x})
		if n > 3 {
			// equal maxima far apart: the lowest index must win
			x = random(n)
			for _, i := range []int{n - 1, n / 2, n / 3, 1 + n/7} {
				x[i] = 50
			}
			cases = append(cases, tc{"ties", x})
		}
	}
	// all equal: index 0
	cases = append(cases, tc{"flat", make([]float32, 32000)})
	// every value -inf but one
	x := make([]float32, 5000)
	for i := range x {
		x[i] = float32(math.Inf(-1))
	}
	x[4321] = -1e30
	cases = append(cases, tc{"inf", x})
	for _, c := range cases {
		want := 0
		for i, v := range c.x {
			if v > c.x[want] {
				want = i
			}
		}
		b := &Backend{d: d, res: resources{d: d}}
		lb, err := b.res.upload("logits", f32Bytes(c.x))
		require.NoError(t, err)
		rb, err := b.res.buffer("result", 16, 0)
		require.NoError(t, err)
		b.step, err = b.res.buffer("step", 64, 0)
		require.NoError(t, err)
		ad, err := b.res.argmax(lb, rb, b.step, len(c.x))
		require.NoError(t, err)
		// the logits reversed first: the workgroup count must be ready
		// for the next step, which must overwrite the first's result
		rev := make([]float32, len(c.x))
		for i, v := range c.x {
			rev[len(c.x)-1-i] = v
		}
		require.NoError(t, d.queue.WriteBuffer(lb, 0, f32Bytes(rev)))
		run(t, d, b.step, []dispatch{ad}, 1, 0, nil)
		require.NoError(t, d.queue.WriteBuffer(lb, 0, f32Bytes(c.x)))
		run(t, d, b.step, []dispatch{ad}, 1, 0, nil)
		got := readF32(t, d, rb, 3)
		idx := int(math.Float32bits(got[0]))
		require.Equalf(t, want, idx, "%s n=%d", c.name, len(c.x))
		require.Equalf(t, c.x[want], got[1], "%s n=%d: value", c.name, len(c.x))
		b.res.release()
	}
}
