package gguf

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
	"path/filepath"
	"strings"
)

// Writer builds a GGUF v3 file: metadata in insertion order, then tensor
// infos and tensor data in the order the tensors were added, each tensor
// padded to the alignment (general.alignment when set, else 32), the layout
// llama.cpp itself writes and requires. The zero Writer is not usable; call
// NewWriter.
type Writer struct {
	kvs     []KV
	kvIndex map[string]int
	tensors []writerTensor
	tIndex  map[string]bool
}

type writerTensor struct {
	info  TensorInfo
	data  []byte                // nil when write is set
	write func(io.Writer) error // streaming source
}

// NewWriter returns an empty Writer.
func NewWriter() *Writer {
	return &Writer{kvIndex: map[string]int{}, tIndex: map[string]bool{}}
}

// SetKV sets key to v. A new key goes after the existing ones; setting an
// existing key replaces its value in place.
func (w *Writer) SetKV(key string, v Value) {
	if i, ok := w.kvIndex[key]; ok {
		w.kvs[i].Value = v
		return
	}
	w.kvIndex[key] = len(w.kvs)
	w.kvs = append(w.kvs, KV{Key: key, Value: v})
}

// DeleteKV removes key if present, keeping the order of the others.
func (w *Writer) DeleteKV(key string) {
	i, ok := w.kvIndex[key]
	if !ok {
		return
	}
	w.kvs = append(w.kvs[:i], w.kvs[i+1:]...)
	delete(w.kvIndex, key)
	for j := i; j < len(w.kvs); j++ {
		w.kvIndex[w.kvs[j].Key] = j
	}
}

// KVs returns the metadata set so far, in order. The slice is shared; do
// not modify it.
func (w *Writer) KVs() []KV { return w.kvs }

// CopyKVs sets every KV of f whose key starts with one of prefixes (all of
// them when no prefix is given), in f's order. For example
// w.CopyKVs(vocab, "tokenizer.") copies a tokenizer.
func (w *Writer) CopyKVs(f *File, prefixes ...string) {
	for _, kv := range f.KVs() {
		if len(prefixes) == 0 || hasAnyPrefix(kv.Key, prefixes) {
			w.SetKV(kv.Key, kv.Value)
		}
	}
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// AddTensor adds a tensor whose bytes are data; len(data) must be the size
// dims and typ imply. data is retained (not copied) until the write.
func (w *Writer) AddTensor(name string, typ TensorType, dims []uint64, data []byte) error {
	info, err := w.tensorInfo(name, typ, dims)
	if err != nil {
		return err
	}
	if uint64(len(data)) != info.Size {
		return fmt.Errorf("gguf: tensor %q: data has %d bytes, %s %v needs %d", name, len(data), typ, dims, info.Size)
	}
	w.add(writerTensor{info: info, data: data})
	return nil
}

// AddTensorFunc adds a tensor whose bytes are produced at write time by
// write, which must write exactly the size dims and typ imply. It lets a
// large model be written without holding all tensors in memory at once.
func (w *Writer) AddTensorFunc(name string, typ TensorType, dims []uint64, write func(io.Writer) error) error {
	info, err := w.tensorInfo(name, typ, dims)
	if err != nil {
		return err
	}
	if write == nil {
		return fmt.Errorf("gguf: tensor %q: nil write function", name)
	}
	w.add(writerTensor{info: info, write: write})
	return nil
}

func (w *Writer) add(t writerTensor) {
	w.tIndex[t.info.Name] = true
	w.tensors = append(w.tensors, t)
}

// tensorInfo validates a tensor description the way the reader does.
func (w *Writer) tensorInfo(name string, typ TensorType, dims []uint64) (TensorInfo, error) {
	if len(name) > MaxNameLen {
		return TensorInfo{}, fmt.Errorf("gguf: tensor name %q is %d bytes long, more than %d", name, len(name), MaxNameLen)
	}
	if w.tIndex[name] {
		return TensorInfo{}, fmt.Errorf("gguf: duplicate tensor name %q", name)
	}
	if len(dims) == 0 || len(dims) > MaxDims {
		return TensorInfo{}, fmt.Errorf("gguf: tensor %q has %d dimensions, want 1 to %d", name, len(dims), MaxDims)
	}
	if !typ.Known() {
		return TensorInfo{}, fmt.Errorf("gguf: tensor %q has unknown type %d", name, uint32(typ))
	}
	bs, ts := uint64(typ.BlockSize()), uint64(typ.TypeSize())
	if dims[0]%bs != 0 {
		return TensorInfo{}, fmt.Errorf("gguf: tensor %q row length %d is not a multiple of the %s block size %d", name, dims[0], typ, bs)
	}
	elems, size := uint64(1), dims[0]/bs*ts
	for i, d := range dims {
		hi, lo := bits.Mul64(elems, d)
		if d > math.MaxInt64 || hi != 0 || lo > math.MaxInt64 {
			return TensorInfo{}, fmt.Errorf("gguf: tensor %q dimensions %v overflow int64", name, dims)
		}
		elems = lo
		if i > 0 {
			hi, size = bits.Mul64(size, d)
			if hi != 0 || size > math.MaxInt64 {
				return TensorInfo{}, fmt.Errorf("gguf: tensor %q dimensions %v: byte size overflows int64", name, dims)
			}
		}
	}
	return TensorInfo{Name: name, Dims: append([]uint64(nil), dims...), Type: typ, Size: size}, nil
}

// alignment returns the alignment general.alignment asks for.
func (w *Writer) alignment() (uint64, error) {
	i, ok := w.kvIndex[KeyAlignment]
	if !ok {
		return DefaultAlignment, nil
	}
	a, err := w.kvs[i].Value.AsUint32()
	if err != nil {
		return 0, fmt.Errorf("gguf: %s: %w", KeyAlignment, err)
	}
	if a == 0 || a&(a-1) != 0 {
		return 0, fmt.Errorf("gguf: %s %d is not a power of two", KeyAlignment, a)
	}
	return uint64(a), nil
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// WriteTo writes the file to dst. It implements io.WriterTo.
func (w *Writer) WriteTo(dst io.Writer) (int64, error) {
	cw := &countingWriter{w: dst}
	err := w.write(cw)
	return cw.n, err
}

func (w *Writer) write(cw *countingWriter) error {
	align, err := w.alignment()
	if err != nil {
		return err
	}
	le := binary.LittleEndian
	// Lay out the data section.
	var off uint64
	for i := range w.tensors {
		w.tensors[i].info.Offset = off
		off = alignUp(off+w.tensors[i].info.Size, align)
	}

	hdr := make([]byte, 0, 4096)
	hdr = append(hdr, Magic...)
	hdr = le.AppendUint32(hdr, 3)
	hdr = le.AppendUint64(hdr, uint64(len(w.tensors)))
	hdr = le.AppendUint64(hdr, uint64(len(w.kvs)))
	for _, kv := range w.kvs {
		hdr = le.AppendUint64(hdr, uint64(len(kv.Key)))
		hdr = append(hdr, kv.Key...)
		hdr = le.AppendUint32(hdr, uint32(kv.Value.Type))
		if hdr, err = kv.Value.appendPayload(hdr); err != nil {
			return fmt.Errorf("gguf: key %q: %w", kv.Key, err)
		}
		if len(hdr) >= 1<<20 {
			if _, err := cw.Write(hdr); err != nil {
				return fmt.Errorf("gguf: write: %w", err)
			}
			hdr = hdr[:0]
		}
	}
	for _, t := range w.tensors {
		hdr = le.AppendUint64(hdr, uint64(len(t.info.Name)))
		hdr = append(hdr, t.info.Name...)
		hdr = le.AppendUint32(hdr, uint32(len(t.info.Dims)))
		for _, d := range t.info.Dims {
			hdr = le.AppendUint64(hdr, d)
		}
		hdr = le.AppendUint32(hdr, uint32(t.info.Type))
		hdr = le.AppendUint64(hdr, t.info.Offset)
	}
	if _, err := cw.Write(hdr); err != nil {
		return fmt.Errorf("gguf: write: %w", err)
	}
	if len(w.tensors) == 0 {
		return nil
	}
	if err := pad(cw, align); err != nil {
		return err
	}
	for _, t := range w.tensors {
		start := cw.n
		if t.write != nil {
			if err := t.write(cw); err != nil {
				return fmt.Errorf("gguf: tensor %q: %w", t.info.Name, err)
			}
		} else if _, err := cw.Write(t.data); err != nil {
			return fmt.Errorf("gguf: write: %w", err)
		}
		if got := uint64(cw.n - start); got != t.info.Size {
			return fmt.Errorf("gguf: tensor %q: wrote %d bytes, want %d", t.info.Name, got, t.info.Size)
		}
		if err := pad(cw, align); err != nil {
			return err
		}
	}
	return nil
}

// pad writes zero bytes up to the next multiple of align.
func pad(cw *countingWriter, align uint64) error {
	var zeros [256]byte
	n := alignUp(uint64(cw.n), align) - uint64(cw.n)
	for n > 0 {
		k := min(n, uint64(len(zeros)))
		if _, err := cw.Write(zeros[:k]); err != nil {
			return fmt.Errorf("gguf: write: %w", err)
		}
		n -= k
	}
	return nil
}

// WriteFile writes the file to path atomically: it writes a temporary file
// in the same directory and renames it over path.
func (w *Writer) WriteFile(path string) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("gguf: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if _, err := w.WriteTo(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("gguf: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("gguf: %w", err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("gguf: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("gguf: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("gguf: %w", err)
	}
	return nil
}
