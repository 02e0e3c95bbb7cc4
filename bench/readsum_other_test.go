//go:build !amd64 || purego

package bench

// wideReaders: no assembly probes on this architecture or build.
func wideReaders() []reader { return nil }
