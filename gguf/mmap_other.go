//go:build !unix

package gguf

// mapFile reads the file at path; platforms without mmap support get a copy.
func mapFile(path string) ([]byte, func() error, func([]byte), error) {
	return mapFileReadAll(path)
}
