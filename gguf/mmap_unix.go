//go:build unix

package gguf

import (
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mapFile maps the file at path read-only and returns its bytes, a
// function that unmaps them and one that drops the pages wholly inside a
// slice of them from the process's memory (File.ReleasePages).
func mapFile(path string) ([]byte, func() error, func([]byte), error) {
	fd, err := os.Open(path)
	if err != nil {
		return nil, nil, nil, err
	}
	defer fd.Close() // the mapping outlives the descriptor
	st, err := fd.Stat()
	if err != nil {
		return nil, nil, nil, err
	}
	size := st.Size()
	if !st.Mode().IsRegular() {
		return mapFileReadAll(path)
	}
	if size == 0 {
		// mmap rejects empty mappings; Parse reports the missing magic.
		return []byte{}, func() error { return nil }, nil, nil
	}
	if size != int64(int(size)) {
		return nil, nil, nil, fmt.Errorf("%s: file of %d bytes is too large to map", path, size)
	}
	data, err := unix.Mmap(int(fd.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("mmap %s: %w", path, err)
	}
	return data, func() error { return unix.Munmap(data) }, releasePages, nil
}

// releasePages drops the pages wholly inside b, a slice of a read-only
// shared file mapping, from the process's memory (MADV_DONTNEED: they are
// read back from the page cache if touched again). Errors are ignored: it
// is advice.
func releasePages(b []byte) {
	ps := uintptr(os.Getpagesize())
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	lo, hi := (p+ps-1)&^(ps-1), (p+uintptr(len(b)))&^(ps-1)
	if hi <= lo {
		return
	}
	_ = unix.Madvise(b[lo-p:hi-p], unix.MADV_DONTNEED)
}
