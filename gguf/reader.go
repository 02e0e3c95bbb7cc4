package gguf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"os"
	"slices"
	"strconv"
	"unsafe"
)

// Magic is the first four bytes of every GGUF file.
const Magic = "GGUF"

// DefaultAlignment is the data alignment of files without general.alignment.
const DefaultAlignment = 32

// KeyAlignment is the metadata key that sets the data alignment.
const KeyAlignment = "general.alignment"

// MaxDims is the largest number of dimensions a tensor may have (GGML_MAX_DIMS).
const MaxDims = 4

// MaxNameLen is the longest tensor name, in bytes, that ggml accepts
// (GGML_MAX_NAME - 1).
const MaxNameLen = 63

// maxArrayDepth bounds the nesting of arrays of arrays.
const maxArrayDepth = 16

// ErrKeyNotFound is returned (wrapped) by the typed accessors of File when
// the key is absent. Test with errors.Is.
var ErrKeyNotFound = errors.New("key not found")

// FormatError reports a malformed GGUF file. Its message reads
// "gguf: FILE: offset N: what was wrong", where N is the byte offset at
// which the offending field starts.
type FormatError struct {
	File   string
	Offset int64
	Msg    string
}

// Error returns "gguf: FILE: offset N: message".
func (e *FormatError) Error() string {
	return fmt.Sprintf("gguf: %s: offset %d: %s", e.File, e.Offset, e.Msg)
}

// TensorInfo describes one tensor of a GGUF file.
type TensorInfo struct {
	Name string
	// Dims holds ne[0] first: ne[0] is the row length (elements per row).
	// It has 1 to MaxDims entries.
	Dims   []uint64
	Type   TensorType
	Offset uint64 // relative to the start of the data section
	Size   uint64 // bytes
}

// Elements returns the number of elements of t (the product of its dims).
func (t TensorInfo) Elements() uint64 {
	n := uint64(1)
	for _, d := range t.Dims {
		n *= d
	}
	return n
}

// Rows returns the number of rows of t: the product of Dims[1:].
func (t TensorInfo) Rows() uint64 {
	n := uint64(1)
	for _, d := range t.Dims[1:] {
		n *= d
	}
	return n
}

// File is a parsed GGUF file. Its metadata is decoded at open time and
// copied out of the file; tensor data stays in the file's memory mapping
// (or the slice given to Parse). The methods are safe for concurrent use,
// except Close.
type File struct {
	Path       string
	Version    uint32
	Alignment  uint64
	DataOffset uint64 // file offset of the data section (a multiple of Alignment)

	kvs     []KV
	kvIndex map[string]int
	tensors []TensorInfo
	tIndex  map[string]int
	data    []byte
	unmap   func() error
	release func(b []byte) // drops mapped pages of b from memory; nil when not mapped
}

// Parse parses the GGUF file held in data; name is used in error messages
// and as File.Path. The metadata is copied; TensorData returns slices of
// data, so data must not change while the File is in use. Parse validates
// the whole file (see Open) and never panics.
func Parse(name string, data []byte) (*File, error) {
	p := &parser{name: name, data: data}
	return p.file()
}

// Open memory-maps the GGUF file at path read-only and parses it. Tensor
// data is never copied: TensorData returns slices of the mapping, valid
// until Close. Open checks everything a reader relies on: magic and version
// (2 or 3), every length and count against the bytes left, value and tensor
// types, dimensions, alignment, that every tensor lies inside the file and
// that no two overlap, and that keys and tensor names are unique.
func Open(path string) (*File, error) {
	data, unmap, release, err := mapFile(path)
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	f, err := Parse(path, data)
	if err != nil {
		_ = unmap()
		return nil, err
	}
	f.unmap, f.release = unmap, release
	return f, nil
}

// ReleasePages tells the system that b, a slice of the file's data (as
// TensorData returns), will not be read for a long while: where the file
// is memory-mapped, the pages wholly inside b leave the process's resident
// memory. They stay readable (a later read brings them back from the page
// cache). It does nothing for files that are not mapped or for a b that
// is not inside the file's data. A backend that keeps its own copy of a
// tensor (repacked weights) calls it so the file's copy does not count
// twice.
func (f *File) ReleasePages(b []byte) {
	if f.release == nil || len(b) == 0 || len(f.data) == 0 {
		return
	}
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(f.data)))
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	if p < lo || p-lo > uintptr(len(f.data)) || uintptr(len(b)) > uintptr(len(f.data))-(p-lo) {
		return
	}
	f.release(b)
}

// Close releases the file mapping. Slices returned by TensorData must not
// be used afterwards; metadata values stay valid. Close is idempotent.
func (f *File) Close() error {
	f.data, f.release = nil, nil
	if f.unmap == nil {
		return nil
	}
	unmap := f.unmap
	f.unmap = nil
	if err := unmap(); err != nil {
		return fmt.Errorf("gguf: %s: %w", f.Path, err)
	}
	return nil
}

// KVs returns the metadata in file order. The slice is shared; do not
// modify it.
func (f *File) KVs() []KV { return f.kvs }

// Value returns the value of key.
func (f *File) Value(key string) (Value, bool) {
	i, ok := f.kvIndex[key]
	if !ok {
		return Value{}, false
	}
	return f.kvs[i].Value, true
}

// Has reports whether key is present.
func (f *File) Has(key string) bool {
	_, ok := f.kvIndex[key]
	return ok
}

// Tensors returns the tensor infos in file order. The slice is shared; do
// not modify it.
func (f *File) Tensors() []TensorInfo { return f.tensors }

// Tensor returns the tensor called name.
func (f *File) Tensor(name string) (TensorInfo, bool) {
	i, ok := f.tIndex[name]
	if !ok {
		return TensorInfo{}, false
	}
	return f.tensors[i], true
}

// TensorData returns the bytes of t, a slice of the file mapping (never a
// copy; do not write to it). It returns nil when t does not lie inside the
// data section or the File is closed.
func (f *File) TensorData(t TensorInfo) []byte {
	start := f.DataOffset + t.Offset
	if start < f.DataOffset || t.Size > uint64(len(f.data)) || start > uint64(len(f.data))-t.Size {
		return nil
	}
	end := start + t.Size
	return f.data[start:end:end]
}

// get looks key up for a typed accessor.
func (f *File) get(key string) (Value, error) {
	v, ok := f.Value(key)
	if !ok {
		return Value{}, fmt.Errorf("gguf: %s: key %q: %w", f.Path, key, ErrKeyNotFound)
	}
	return v, nil
}

// accessor runs a typed conversion of key's value and wraps its error.
func accessor[T any](f *File, key string, conv func(Value) (T, error)) (T, error) {
	v, err := f.get(key)
	if err != nil {
		var zero T
		return zero, err
	}
	x, err := conv(v)
	if err != nil {
		return x, fmt.Errorf("gguf: %s: key %q: %w", f.Path, key, err)
	}
	return x, nil
}

// String returns the string value of key.
func (f *File) String(key string) (string, error) { return accessor(f, key, Value.AsString) }

// Uint32 returns the value of key, which may be of any integer type whose
// value fits in uint32.
func (f *File) Uint32(key string) (uint32, error) { return accessor(f, key, Value.AsUint32) }

// Uint64 returns the value of key, which may be of any integer type whose
// value is not negative.
func (f *File) Uint64(key string) (uint64, error) { return accessor(f, key, Value.AsUint64) }

// Int64 returns the value of key, which may be of any integer type whose
// value fits in int64.
func (f *File) Int64(key string) (int64, error) { return accessor(f, key, Value.AsInt64) }

// Float32 returns the value of key, a float32 or float64.
func (f *File) Float32(key string) (float32, error) { return accessor(f, key, Value.AsFloat32) }

// Bool returns the bool value of key.
func (f *File) Bool(key string) (bool, error) { return accessor(f, key, Value.AsBool) }

// Strings returns the array of strings at key (a fresh slice).
func (f *File) Strings(key string) ([]string, error) { return accessor(f, key, Value.AsStrings) }

// Float32s returns the array of float32 (or float64) at key.
func (f *File) Float32s(key string) ([]float32, error) {
	return accessor(f, key, Value.AsFloat32s)
}

// Int32s returns the array of integers at key; every element must fit in
// int32.
func (f *File) Int32s(key string) ([]int32, error) { return accessor(f, key, Value.AsInt32s) }

// parser decodes a GGUF file held in memory. Every read checks the bytes
// left first; no allocation is sized by a number from the file without
// checking that the file could hold that many items.
type parser struct {
	name string
	data []byte
	off  int
}

func (p *parser) errf(off int, format string, args ...any) error {
	return &FormatError{File: p.name, Offset: int64(off), Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) left() int { return len(p.data) - p.off }

func (p *parser) need(n int, what string) error {
	if p.left() < n {
		return p.errf(p.off, "unexpected end of file reading %s: need %d bytes, %d left", what, n, p.left())
	}
	return nil
}

func (p *parser) u32(what string) (uint32, error) {
	if err := p.need(4, what); err != nil {
		return 0, err
	}
	x := binary.LittleEndian.Uint32(p.data[p.off:])
	p.off += 4
	return x, nil
}

func (p *parser) u64(what string) (uint64, error) {
	if err := p.need(8, what); err != nil {
		return 0, err
	}
	x := binary.LittleEndian.Uint64(p.data[p.off:])
	p.off += 8
	return x, nil
}

// count reads a uint64 count of items that each take at least minSize bytes
// and checks that the rest of the file could hold them.
func (p *parser) count(what string, minSize int) (int, error) {
	at := p.off
	n, err := p.u64(what)
	if err != nil {
		return 0, err
	}
	if n > uint64(p.left()/minSize) {
		return 0, p.errf(at, "%s %d is larger than the %d bytes left could hold", what, n, p.left())
	}
	return int(n), nil
}

// bytesField reads a GGUF string (uint64 length, then bytes) without copying.
func (p *parser) bytesField(what string) ([]byte, error) {
	at := p.off
	n, err := p.u64(what + " length")
	if err != nil {
		return nil, err
	}
	if n > uint64(p.left()) {
		return nil, p.errf(at, "%s length %d exceeds the %d bytes left", what, n, p.left())
	}
	b := p.data[p.off : p.off+int(n)]
	p.off += int(n)
	return b, nil
}

func (p *parser) str(what string) (string, error) {
	b, err := p.bytesField(what)
	return string(b), err
}

func (p *parser) file() (*File, error) {
	if err := p.need(4, "magic"); err != nil {
		return nil, err
	}
	if string(p.data[:4]) != Magic {
		return nil, p.errf(0, "bad magic %q, want %q (not a GGUF file)", p.data[:4], Magic)
	}
	p.off = 4
	version, err := p.u32("version")
	if err != nil {
		return nil, err
	}
	switch {
	case version == 2 || version == 3:
	case version&0xffff == 0 && version != 0:
		return nil, p.errf(4, "unsupported version %d (0x%08x): big-endian GGUF files are not supported", version, version)
	default:
		return nil, p.errf(4, "unsupported version %d (only 2 and 3 are supported)", version)
	}
	f := &File{Path: p.name, Version: version, Alignment: DefaultAlignment, data: p.data}

	// Smallest encodings: a tensor info with one dim is 8+4+8+4+8 bytes, a
	// KV with an empty key and a uint8 value 8+4+1.
	nTensors, err := p.count("tensor count", 32)
	if err != nil {
		return nil, err
	}
	nKV, err := p.count("metadata key-value count", 13)
	if err != nil {
		return nil, err
	}
	if err := p.kvs(f, nKV); err != nil {
		return nil, err
	}
	fieldOffs, err := p.tensorInfos(f, nTensors)
	if err != nil {
		return nil, err
	}
	f.DataOffset = alignUp(uint64(p.off), f.Alignment)
	if err := p.checkLayout(f, fieldOffs); err != nil {
		return nil, err
	}
	return f, nil
}

// short quotes s for an error message, cut to its first 64 bytes.
func short(s string) string {
	if len(s) > 64 {
		return strconv.Quote(s[:64]) + "..."
	}
	return strconv.Quote(s)
}

func alignUp(x, a uint64) uint64 { return (x + a - 1) &^ (a - 1) }

func (p *parser) kvs(f *File, n int) error {
	f.kvs = make([]KV, 0, min(n, 1024))
	f.kvIndex = make(map[string]int, min(n, 1024))
	for range n {
		keyAt := p.off
		key, err := p.str("key")
		if err != nil {
			return err
		}
		if _, dup := f.kvIndex[key]; dup {
			return p.errf(keyAt, "duplicate key %s", short(key))
		}
		typeAt := p.off
		t, err := p.u32("value type of key " + short(key))
		if err != nil {
			return err
		}
		vt := ValueType(t)
		if !vt.Known() {
			return p.errf(typeAt, "key %s has unknown value type %d", short(key), t)
		}
		valueAt := p.off
		v, err := p.value(vt, key)
		if err != nil {
			return err
		}
		if key == KeyAlignment {
			a, err := v.AsUint32()
			if err != nil {
				return p.errf(valueAt, "%s: %v", KeyAlignment, err)
			}
			if a == 0 || a&(a-1) != 0 {
				return p.errf(valueAt, "%s %d is not a power of two", KeyAlignment, a)
			}
			f.Alignment = uint64(a)
		}
		f.kvIndex[key] = len(f.kvs)
		f.kvs = append(f.kvs, KV{Key: key, Value: v})
	}
	return nil
}

// value decodes a value of type t at p.off.
func (p *parser) value(t ValueType, key string) (Value, error) {
	what := "value of key " + short(key)
	if t == ValueString {
		s, err := p.str(what)
		return StringValue(s), err
	}
	if t == ValueArray {
		start := p.off
		et, n, err := p.array(what, 0)
		if err != nil {
			return Value{}, err
		}
		// Copy the elements out of the file so that values outlive Close.
		raw := bytes.Clone(p.data[start+12 : p.off])
		if raw == nil {
			raw = []byte{}
		}
		return Value{Type: ValueArray, ArrayType: et, n: n, raw: raw}, nil
	}
	at := p.off
	if err := p.need(t.size(), what); err != nil {
		return Value{}, err
	}
	v := scalarAt(t, p.data[p.off:])
	p.off += t.size()
	if t == ValueBool && v.num > 1 {
		return Value{}, p.errf(at, "%s: invalid bool byte %d", what, v.num)
	}
	return v, nil
}

// array validates an array (element type, count, elements) at p.off and
// moves past it.
func (p *parser) array(what string, depth int) (ValueType, int, error) {
	typeAt := p.off
	t, err := p.u32(what + " array type")
	if err != nil {
		return 0, 0, err
	}
	et := ValueType(t)
	if !et.Known() {
		return 0, 0, p.errf(typeAt, "%s: array of unknown value type %d", what, t)
	}
	minSize := et.size()
	switch et {
	case ValueString:
		minSize = 8
	case ValueArray:
		minSize = 12
		if depth+1 >= maxArrayDepth {
			return 0, 0, p.errf(typeAt, "%s: arrays nested deeper than %d", what, maxArrayDepth)
		}
	}
	n, err := p.count(what+" array length", minSize)
	if err != nil {
		return 0, 0, err
	}
	switch et {
	case ValueString:
		for range n {
			at := p.off
			if p.left() < 8 {
				return 0, 0, p.need(8, what+" element length")
			}
			l := binary.LittleEndian.Uint64(p.data[p.off:])
			if l > uint64(p.left()-8) {
				return 0, 0, p.errf(at, "%s: string length %d exceeds the %d bytes left", what, l, p.left()-8)
			}
			p.off += 8 + int(l)
		}
	case ValueArray:
		for range n {
			if _, _, err := p.array(what, depth+1); err != nil {
				return 0, 0, err
			}
		}
	case ValueBool:
		body := p.data[p.off : p.off+n]
		for i, b := range body {
			if b > 1 {
				return 0, 0, p.errf(p.off+i, "%s: invalid bool byte %d in element %d", what, b, i)
			}
		}
		p.off += n
	default:
		p.off += n * minSize
	}
	return et, n, nil
}

// tensorInfos decodes n tensor infos and returns, for each, the file offset
// of its offset field (for error messages about the data layout).
func (p *parser) tensorInfos(f *File, n int) ([]int, error) {
	f.tensors = make([]TensorInfo, 0, min(n, 4096))
	f.tIndex = make(map[string]int, min(n, 4096))
	fieldOffs := make([]int, 0, min(n, 4096))
	for range n {
		nameAt := p.off
		name, err := p.str("tensor name")
		if err != nil {
			return nil, err
		}
		if len(name) > MaxNameLen {
			return nil, p.errf(nameAt, "tensor name %s is %d bytes long, more than %d", short(name), len(name), MaxNameLen)
		}
		if _, dup := f.tIndex[name]; dup {
			return nil, p.errf(nameAt, "duplicate tensor name %q", name)
		}
		ndAt := p.off
		nd, err := p.u32("number of dimensions of tensor " + strconv.Quote(name))
		if err != nil {
			return nil, err
		}
		if nd == 0 || nd > MaxDims {
			return nil, p.errf(ndAt, "tensor %q has %d dimensions, want 1 to %d", name, nd, MaxDims)
		}
		dimsAt := p.off
		if err := p.need(8*int(nd), "dimensions of tensor "+strconv.Quote(name)); err != nil {
			return nil, err
		}
		dims := make([]uint64, nd)
		elems := uint64(1)
		overflow := false
		for i := range dims {
			d := binary.LittleEndian.Uint64(p.data[p.off:])
			if d > math.MaxInt64 {
				return nil, p.errf(p.off, "tensor %q dimension %d is %d, more than int64 can hold", name, i, d)
			}
			dims[i] = d
			hi, lo := bits.Mul64(elems, d)
			if hi != 0 || lo > math.MaxInt64 {
				overflow = true
			}
			elems = lo
			p.off += 8
		}
		if overflow {
			return nil, p.errf(dimsAt, "tensor %q dimensions %v: element count overflows int64", name, dims)
		}
		typeAt := p.off
		tt, err := p.u32("type of tensor " + strconv.Quote(name))
		if err != nil {
			return nil, err
		}
		typ := TensorType(tt)
		if !typ.Known() {
			return nil, p.errf(typeAt, "tensor %q has unknown type %d", name, tt)
		}
		bs, ts := uint64(typ.BlockSize()), uint64(typ.TypeSize())
		if dims[0]%bs != 0 {
			return nil, p.errf(dimsAt, "tensor %q row length %d is not a multiple of the %s block size %d", name, dims[0], typ, bs)
		}
		rows := uint64(1)
		for _, d := range dims[1:] {
			rows *= d // cannot overflow: the full product fits in int64
		}
		hi, size := bits.Mul64(dims[0]/bs*ts, rows)
		if hi != 0 || size > math.MaxInt64 {
			return nil, p.errf(dimsAt, "tensor %q dimensions %v: byte size overflows int64", name, dims)
		}
		offAt := p.off
		off, err := p.u64("data offset of tensor " + strconv.Quote(name))
		if err != nil {
			return nil, err
		}
		if off%f.Alignment != 0 {
			return nil, p.errf(offAt, "tensor %q data offset %d is not a multiple of the alignment %d", name, off, f.Alignment)
		}
		f.tIndex[name] = len(f.tensors)
		f.tensors = append(f.tensors, TensorInfo{Name: name, Dims: dims, Type: typ, Offset: off, Size: size})
		fieldOffs = append(fieldOffs, offAt)
	}
	return fieldOffs, nil
}

// checkLayout checks that every tensor lies inside the file and that no two
// tensors overlap.
func (p *parser) checkLayout(f *File, fieldOffs []int) error {
	size := uint64(len(p.data))
	var avail uint64 // bytes of the data section present in the file
	if f.DataOffset < size {
		avail = size - f.DataOffset
	}
	for i, t := range f.tensors {
		if t.Size == 0 {
			continue
		}
		if t.Offset > avail || t.Size > avail-t.Offset {
			return p.errf(fieldOffs[i], "tensor %q data (offset %d, %d bytes) extends past the end of the file: the data section at %d holds %d bytes",
				t.Name, t.Offset, t.Size, f.DataOffset, avail)
		}
	}
	order := make([]int, 0, len(f.tensors))
	for i, t := range f.tensors {
		if t.Size > 0 {
			order = append(order, i)
		}
	}
	slices.SortFunc(order, func(a, b int) int {
		if c := cmpU64(f.tensors[a].Offset, f.tensors[b].Offset); c != 0 {
			return c
		}
		return a - b
	})
	for k := 1; k < len(order); k++ {
		prev, cur := f.tensors[order[k-1]], f.tensors[order[k]]
		if prev.Offset+prev.Size > cur.Offset {
			return p.errf(fieldOffs[order[k]], "tensor %q data (offset %d, %d bytes) overlaps tensor %q (offset %d, %d bytes)",
				cur.Name, cur.Offset, cur.Size, prev.Name, prev.Offset, prev.Size)
		}
	}
	return nil
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// mapFileReadAll is the portable fallback for mapFile: it reads the file
// (and has no pages to release).
func mapFileReadAll(path string) ([]byte, func() error, func([]byte), error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, nil, err
	}
	return data, func() error { return nil }, nil, nil
}
