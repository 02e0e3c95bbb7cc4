package bench

import (
	"os"
	"strconv"
	"sync"
	"testing"
	"unsafe"
)

// BenchmarkReadBandwidth reads a 1 GiB buffer (far beyond the caches) with
// $HEARTH_BENCH_THREADS goroutines (default 2), each summing its half as
// uint64s in four chains, and reports GB/s: the memory floor of one-token
// decode is the weight bytes a token over this. The sums are checked, so the
// compiler cannot drop the loads (an unused sum made an earlier measurement
// report 2.5x this machine's bandwidth).
//
//	go test ./bench -run '^$' -bench ReadBandwidth -benchtime 8x
func BenchmarkReadBandwidth(b *testing.B) {
	threads := 2
	if s := os.Getenv("HEARTH_BENCH_THREADS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			b.Fatalf("HEARTH_BENCH_THREADS=%q: want a positive count", s)
		}
		threads = n
	}
	const words = 1 << 27 // 1 GiB
	buf := make([]uint64, words)
	var want uint64
	for i := range buf {
		buf[i] = uint64(i) * 0x9e3779b97f4a7c15
		want += buf[i]
	}
	sums := make([]uint64, threads)
	b.SetBytes(int64(words) * int64(unsafe.Sizeof(buf[0])))
	b.ResetTimer()
	for it := 0; it < b.N; it++ {
		var wg sync.WaitGroup
		for k := 0; k < threads; k++ {
			wg.Add(1)
			go func(k int) {
				defer wg.Done()
				sums[k] = sum4(buf[k*words/threads : (k+1)*words/threads])
			}(k)
		}
		wg.Wait()
		var got uint64
		for _, s := range sums {
			got += s
		}
		if got != want {
			b.Fatalf("sum %d, want %d", got, want)
		}
	}
}

// sum4 adds up u in four chains.
func sum4(u []uint64) uint64 {
	var s0, s1, s2, s3 uint64
	i := 0
	for ; i+4 <= len(u); i += 4 {
		s0 += u[i]
		s1 += u[i+1]
		s2 += u[i+2]
		s3 += u[i+3]
	}
	for ; i < len(u); i++ {
		s0 += u[i]
	}
	return s0 + s1 + s2 + s3
}
