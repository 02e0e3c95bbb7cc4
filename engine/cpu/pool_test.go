package cpu

import (
	"math/rand/v2"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// countTask counts how often each item is processed and checks the worker
// index.
type countTask struct {
	t      *testing.T
	n      int
	counts []atomic.Int32
}

func (c *countTask) run(w, i0, i1 int) {
	if w < 0 || w >= c.n {
		c.t.Errorf("worker %d of %d", w, c.n)
	}
	for i := i0; i < i1; i++ {
		c.counts[i].Add(1)
	}
}

// TestPoolRunsEveryItemOnce runs tasks back to back (the workers still
// spinning), after pauses (the workers parked), with fewer workers than
// the pool has, in fixed and in guided pieces, and requires every item to
// be processed exactly once each time; then close must stop the workers,
// parked or not.
func TestPoolRunsEveryItemOnce(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct{ n, spin int }{{1, spinIters}, {2, spinIters}, {3, spinIters}, {4, spinIters}, {2, 0}, {3, 0}} {
		n := tc.n
		before := runtime.NumGoroutine()
		p := newPoolSpin(n, tc.spin) // spin 0: every hand-off parks, as with more workers than GOMAXPROCS
		ct := &countTask{t: t, n: n, counts: make([]atomic.Int32, 1000)}
		for k := 0; k < 400; k++ {
			total, chunk, maxW := 1+r.IntN(1000), 1+r.IntN(40), r.IntN(n+1)
			for i := range ct.counts[:total] {
				ct.counts[i].Store(0)
			}
			if k%2 == 0 {
				p.run(ct, total, chunk, maxW)
			} else {
				p.runGuided(ct, total, chunk, maxW) // shrinking pieces
			}
			for i := range ct.counts[:total] {
				require.EqualValues(t, 1, ct.counts[i].Load(), "n=%d run %d: item %d of %d", n, k, i, total)
			}
			if k%50 == 49 {
				time.Sleep(2 * time.Millisecond) // long enough for the workers to park
			}
		}
		p.close()
		for i := 0; i < 1000 && runtime.NumGoroutine() > before; i++ {
			time.Sleep(time.Millisecond)
		}
		require.LessOrEqual(t, runtime.NumGoroutine(), before, "n=%d: workers left running", n)
	}
}
