package tokenizer

import (
	"syscall"
	"time"
)

// threadCPU returns the CPU time the calling OS thread has used (callers lock
// the goroutine to its thread), so that timings ignore other processes on a
// busy machine.
func threadCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	const rusageThread = 1
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
