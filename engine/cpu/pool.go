package cpu

import (
	"sync"
	"sync/atomic"
)

// task is one parallel operation: run processes the items [i0, i1) on
// worker w (0 <= w < the pool's size), which may use per-worker scratch.
type task interface {
	run(w, i0, i1 int)
}

// pool is a fixed set of worker goroutines that split tasks between them.
// The goroutine calling run takes part as worker 0, so a pool of size n
// starts n-1 goroutines. Workers park on their own channel between tasks;
// nothing is allocated per task.
type pool struct {
	n    int
	wake []chan struct{}
	done chan struct{}
	wg   sync.WaitGroup

	// The current task. Written by run before waking workers (the channel
	// send orders the writes before the workers' reads).
	t            task
	total, chunk int64
	next         atomic.Int64
}

func newPool(n int) *pool {
	if n < 1 {
		n = 1
	}
	p := &pool{n: n, done: make(chan struct{}, n)}
	p.wake = make([]chan struct{}, n-1)
	p.wg.Add(n - 1)
	for i := range p.wake {
		ch := make(chan struct{}, 1)
		p.wake[i] = ch
		go p.loop(i+1, ch)
	}
	return p
}

func (p *pool) loop(w int, wake <-chan struct{}) {
	defer p.wg.Done()
	for range wake {
		p.work(w)
		p.done <- struct{}{}
	}
}

func (p *pool) work(w int) {
	for {
		i0 := p.next.Add(p.chunk) - p.chunk
		if i0 >= p.total {
			return
		}
		p.t.run(w, int(i0), int(min(i0+p.chunk, p.total)))
	}
}

// run splits items [0, total) into pieces of chunk items and processes them
// on up to maxWorkers workers (0 = all). It returns when all are done.
func (p *pool) run(t task, total, chunk, maxWorkers int) {
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
	p.t, p.total, p.chunk = t, int64(total), int64(chunk)
	p.next.Store(0)
	for i := 0; i < nw-1; i++ {
		p.wake[i] <- struct{}{}
	}
	p.work(0)
	for i := 0; i < nw-1; i++ {
		<-p.done
	}
	p.t = nil
}

// close stops the workers and waits for them to exit.
func (p *pool) close() {
	for _, ch := range p.wake {
		close(ch)
	}
	p.wake = nil
	p.wg.Wait()
}
