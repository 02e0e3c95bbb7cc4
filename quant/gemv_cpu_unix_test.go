//go:build unix

package quant

import "syscall"

// processCPUSeconds returns the user+system CPU time of this process, so
// kernel benchmarks can report CPU time per op, which a loaded machine
// disturbs far less than wall time.
func processCPUSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
