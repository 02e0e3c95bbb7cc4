package cpu

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// task is one parallel operation: run processes the items [i0, i1) on
// worker w (0 <= w < the pool's size), which may use per-worker scratch.
type task interface {
	run(w, i0, i1 int)
}

// spinIters is how many times a waiting goroutine polls before it parks:
// a few tens of microseconds, longer than the serial work between the
// parallel operations of one token (norms, activation conversion), so a
// decode step hands work over without futex wake-ups, as llama.cpp's
// spinning threads do, while an idle pool still sleeps. A pool with more
// workers than GOMAXPROCS does not spin: a polling goroutine would hold a P
// that a working one needs.
const spinIters = 1 << 15

// pool is a fixed set of worker goroutines that split tasks between them.
// The goroutine calling run takes part as worker 0, so a pool of size n
// starts n-1 goroutines. A task is published by storing state (generation
// and worker count) after its fields; workers poll state for a while after
// each task and then park on their own channel, and run polls for the
// workers to finish before parking on done. Parking follows one protocol
// on both sides: the sleeper sets its flag and re-checks the condition;
// the waker clears the flag with a compare-and-swap and, if that
// succeeded, sends one token, so every token sent is received. run's flag
// holds the generation it waits for, so the late last worker of an earlier
// task cannot wake it, and a worker woken for a task it has already done
// (run cleared its flag after it finished) parks again. Nothing is
// allocated per task.
type pool struct {
	n        int
	spin     int             // polls before parking: spinIters, or 0
	wake     []chan struct{} // per worker (index w-1)
	sleeping []atomic.Int32  // per worker (index w-1): parked or about to
	done     chan struct{}
	wg       sync.WaitGroup

	// The current task, written by run before state.
	t            task
	total, chunk int64
	div          int64 // guided claims (runGuided): remaining/div items, at least chunk; 0 = fixed chunks
	next         atomic.Int64

	state        atomic.Uint64 // generation<<8 | workers taking part; 0 workers = quit
	pending      atomic.Int32  // workers other than 0 still working on the task
	mainSleeping atomic.Uint64 // generation run waits for, parked or about to; 0 = none
}

func newPool(n int) *pool {
	spin := 0
	if n <= runtime.GOMAXPROCS(0) {
		spin = spinIters
	}
	return newPoolSpin(n, spin)
}

// newPoolSpin is newPool with spin polls before parking.
func newPoolSpin(n, spin int) *pool {
	n = min(max(n, 1), 255)
	p := &pool{n: n, spin: spin, done: make(chan struct{}, 1)}
	p.wake = make([]chan struct{}, n-1)
	p.sleeping = make([]atomic.Int32, n-1)
	p.wg.Add(n - 1)
	for i := range p.wake {
		p.wake[i] = make(chan struct{}, 1)
		go p.loop(i + 1)
	}
	return p
}

// loop is worker w's life: wait for a new task, do its share if it takes
// part, tell run when the last share is done.
func (p *pool) loop(w int) {
	defer p.wg.Done()
	var seen uint64 // generation 0: no task yet (a task may be published before this runs)
	for {
		s := p.waitTask(w, seen)
		seen = s >> 8
		nw := int(s & 0xff)
		if nw == 0 {
			return
		}
		if w < nw {
			p.work(w)
			// The generation in the flag keeps a late last worker of an
			// earlier task from waking run while it waits for a later one.
			if p.pending.Add(-1) == 0 && p.mainSleeping.CompareAndSwap(seen, 0) {
				p.done <- struct{}{}
			}
		}
	}
}

// waitTask returns the first state whose generation differs from seen.
func (p *pool) waitTask(w int, seen uint64) uint64 {
	for i := 0; i < p.spin; i++ {
		if s := p.state.Load(); s>>8 != seen {
			return s
		}
	}
	fl := &p.sleeping[w-1]
	for {
		fl.Store(1)
		if s := p.state.Load(); s>>8 != seen {
			if fl.CompareAndSwap(1, 0) {
				return s
			}
			<-p.wake[w-1] // run took the flag: take its token
			return p.state.Load()
		}
		<-p.wake[w-1]
		if s := p.state.Load(); s>>8 != seen {
			return s
		}
		// The token was for the task this worker has just done (run
		// cleared the flag of its next wait before reaching it): wait on.
	}
}

func (p *pool) work(w int) {
	if p.div > 0 {
		p.workGuided(w)
		return
	}
	for {
		i0 := p.next.Add(p.chunk) - p.chunk
		if i0 >= p.total {
			return
		}
		p.t.run(w, int(i0), int(min(i0+p.chunk, p.total)))
	}
}

// workGuided claims remaining/div items at a time (at least chunk), so the
// pieces shrink towards the end of the task and the workers finish at
// nearly the same time.
func (p *pool) workGuided(w int) {
	for {
		i0 := p.next.Load()
		if i0 >= p.total {
			return
		}
		i1 := min(i0+max(p.chunk, (p.total-i0)/p.div), p.total)
		if p.next.CompareAndSwap(i0, i1) {
			p.t.run(w, int(i0), int(i1))
		}
	}
}

// publish starts a task for workers 1..nw-1 (nw = 0 stops them all) and
// returns its generation.
func (p *pool) publish(nw int) uint64 {
	gen := p.state.Load()>>8 + 1
	p.state.Store(gen<<8 | uint64(nw))
	wake := nw
	if nw == 0 {
		wake = p.n
	}
	for w := 1; w < wake; w++ {
		if p.sleeping[w-1].CompareAndSwap(1, 0) {
			p.wake[w-1] <- struct{}{}
		}
	}
	return gen
}

// run splits items [0, total) into pieces of chunk items and processes them
// on up to maxWorkers workers (0 = all). It returns when all are done.
func (p *pool) run(t task, total, chunk, maxWorkers int) {
	p.start(t, total, chunk, 0, maxWorkers)
}

// runGuided is run with pieces of a 1/(2*workers) share of the items not yet
// claimed, at least chunk items: large pieces first, then smaller ones, so
// that the workers finish together (guided self-scheduling).
func (p *pool) runGuided(t task, total, chunk, maxWorkers int) {
	nw := p.n
	if maxWorkers > 0 {
		nw = min(nw, maxWorkers)
	}
	p.start(t, total, chunk, 2*nw, maxWorkers)
}

func (p *pool) start(t task, total, chunk, div, maxWorkers int) {
	if total <= 0 {
		return
	}
	if chunk < 1 {
		chunk = 1
	}
	nw := min(p.n, (total+chunk-1)/chunk)
	if maxWorkers > 0 {
		nw = min(nw, maxWorkers)
	}
	if nw <= 1 {
		t.run(0, 0, total)
		return
	}
	p.t, p.total, p.chunk, p.div = t, int64(total), int64(chunk), int64(div)
	p.next.Store(0)
	p.pending.Store(int32(nw - 1))
	gen := p.publish(nw)
	p.work(0)
	p.waitDone(gen)
	p.t = nil
}

// waitDone returns when the other workers have finished task gen.
func (p *pool) waitDone(gen uint64) {
	for i := 0; i < p.spin; i++ {
		if p.pending.Load() == 0 {
			return
		}
	}
	p.mainSleeping.Store(gen)
	if p.pending.Load() == 0 && p.mainSleeping.CompareAndSwap(gen, 0) {
		return
	}
	<-p.done
}

// close stops the workers and waits for them to exit.
func (p *pool) close() {
	if p.n > 1 {
		p.publish(0)
	}
	p.wg.Wait()
}
