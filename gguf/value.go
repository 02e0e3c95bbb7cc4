package gguf

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unsafe"
)

// ValueType is the type of a GGUF metadata value (enum gguf_type). The
// numeric values appear on disk.
type ValueType uint32

// The GGUF metadata value types.
const (
	ValueUint8   ValueType = 0
	ValueInt8    ValueType = 1
	ValueUint16  ValueType = 2
	ValueInt16   ValueType = 3
	ValueUint32  ValueType = 4
	ValueInt32   ValueType = 5
	ValueFloat32 ValueType = 6
	ValueBool    ValueType = 7
	ValueString  ValueType = 8
	ValueArray   ValueType = 9
	ValueUint64  ValueType = 10
	ValueInt64   ValueType = 11
	ValueFloat64 ValueType = 12
)

var valueTypeNames = [...]string{
	ValueUint8:   "uint8",
	ValueInt8:    "int8",
	ValueUint16:  "uint16",
	ValueInt16:   "int16",
	ValueUint32:  "uint32",
	ValueInt32:   "int32",
	ValueFloat32: "float32",
	ValueBool:    "bool",
	ValueString:  "string",
	ValueArray:   "array",
	ValueUint64:  "uint64",
	ValueInt64:   "int64",
	ValueFloat64: "float64",
}

// Known reports whether t is a value type GGUF defines.
func (t ValueType) Known() bool { return t <= ValueFloat64 }

// String returns the lower-case name of t, such as "uint32".
func (t ValueType) String() string {
	if t.Known() {
		return valueTypeNames[t]
	}
	return fmt.Sprintf("ValueType(%d)", uint32(t))
}

// size is the encoded size of one value of a fixed-size type; 0 for
// strings, arrays and unknown types.
func (t ValueType) size() int {
	switch t {
	case ValueUint8, ValueInt8, ValueBool:
		return 1
	case ValueUint16, ValueInt16:
		return 2
	case ValueUint32, ValueInt32, ValueFloat32:
		return 4
	case ValueUint64, ValueInt64, ValueFloat64:
		return 8
	}
	return 0
}

func (t ValueType) isInteger() bool {
	switch t {
	case ValueUint8, ValueInt8, ValueUint16, ValueInt16, ValueUint32, ValueInt32, ValueUint64, ValueInt64:
		return true
	}
	return false
}

func (t ValueType) isSigned() bool {
	return t == ValueInt8 || t == ValueInt16 || t == ValueInt32 || t == ValueInt64
}

// Value is one decoded GGUF metadata value. Build values with the
// constructors (StringValue, Uint32Value, ArrayOf, ...); the zero Value is
// the uint8 0. A Value is immutable and safe to share between goroutines. It
// never refers to the memory of a File, so it stays valid after Close.
type Value struct {
	// Type is the value's type.
	Type ValueType
	// ArrayType is the element type when Type is ValueArray.
	ArrayType ValueType

	num uint64 // scalar numbers and bools: the bits, zero-extended
	str string // ValueString
	n   int    // array length
	raw []byte // array elements exactly as GGUF encodes them; never written after creation
}

// KV is one metadata key and its value.
type KV struct {
	Key   string
	Value Value
}

// Uint8Value returns a uint8 Value.
func Uint8Value(v uint8) Value { return Value{Type: ValueUint8, num: uint64(v)} }

// Int8Value returns an int8 Value.
func Int8Value(v int8) Value { return Value{Type: ValueInt8, num: uint64(uint8(v))} }

// Uint16Value returns a uint16 Value.
func Uint16Value(v uint16) Value { return Value{Type: ValueUint16, num: uint64(v)} }

// Int16Value returns an int16 Value.
func Int16Value(v int16) Value { return Value{Type: ValueInt16, num: uint64(uint16(v))} }

// Uint32Value returns a uint32 Value.
func Uint32Value(v uint32) Value { return Value{Type: ValueUint32, num: uint64(v)} }

// Int32Value returns an int32 Value.
func Int32Value(v int32) Value { return Value{Type: ValueInt32, num: uint64(uint32(v))} }

// Uint64Value returns a uint64 Value.
func Uint64Value(v uint64) Value { return Value{Type: ValueUint64, num: v} }

// Int64Value returns an int64 Value.
func Int64Value(v int64) Value { return Value{Type: ValueInt64, num: uint64(v)} }

// Float32Value returns a float32 Value.
func Float32Value(v float32) Value {
	return Value{Type: ValueFloat32, num: uint64(math.Float32bits(v))}
}

// Float64Value returns a float64 Value.
func Float64Value(v float64) Value { return Value{Type: ValueFloat64, num: math.Float64bits(v)} }

// BoolValue returns a bool Value.
func BoolValue(v bool) Value {
	if v {
		return Value{Type: ValueBool, num: 1}
	}
	return Value{Type: ValueBool}
}

// StringValue returns a string Value.
func StringValue(s string) Value { return Value{Type: ValueString, str: s} }

// StringsValue returns an array of strings.
func StringsValue(s []string) Value { return ArrayOf(s) }

// Float32sValue returns an array of float32.
func Float32sValue(v []float32) Value { return ArrayOf(v) }

// Int32sValue returns an array of int32.
func Int32sValue(v []int32) Value { return ArrayOf(v) }

// Uint32sValue returns an array of uint32.
func Uint32sValue(v []uint32) Value { return ArrayOf(v) }

// Element is the set of Go types ArrayOf turns into GGUF array elements.
type Element interface {
	uint8 | int8 | uint16 | int16 | uint32 | int32 | uint64 | int64 | float32 | float64 | bool | string
}

// ArrayOf returns a GGUF array holding xs, with the element type matching T
// (uint8 -> ValueUint8, ..., string -> ValueString).
func ArrayOf[T Element](xs []T) Value {
	v := Value{Type: ValueArray, n: len(xs)}
	le := binary.LittleEndian
	switch xs := any(xs).(type) {
	case []uint8:
		v.ArrayType, v.raw = ValueUint8, append([]byte{}, xs...)
	case []int8:
		v.ArrayType, v.raw = ValueInt8, make([]byte, len(xs))
		for i, x := range xs {
			v.raw[i] = byte(x)
		}
	case []uint16:
		v.ArrayType, v.raw = ValueUint16, make([]byte, 0, 2*len(xs))
		for _, x := range xs {
			v.raw = le.AppendUint16(v.raw, x)
		}
	case []int16:
		v.ArrayType, v.raw = ValueInt16, make([]byte, 0, 2*len(xs))
		for _, x := range xs {
			v.raw = le.AppendUint16(v.raw, uint16(x))
		}
	case []uint32:
		v.ArrayType, v.raw = ValueUint32, make([]byte, 0, 4*len(xs))
		for _, x := range xs {
			v.raw = le.AppendUint32(v.raw, x)
		}
	case []int32:
		v.ArrayType, v.raw = ValueInt32, make([]byte, 0, 4*len(xs))
		for _, x := range xs {
			v.raw = le.AppendUint32(v.raw, uint32(x))
		}
	case []uint64:
		v.ArrayType, v.raw = ValueUint64, make([]byte, 0, 8*len(xs))
		for _, x := range xs {
			v.raw = le.AppendUint64(v.raw, x)
		}
	case []int64:
		v.ArrayType, v.raw = ValueInt64, make([]byte, 0, 8*len(xs))
		for _, x := range xs {
			v.raw = le.AppendUint64(v.raw, uint64(x))
		}
	case []float32:
		v.ArrayType, v.raw = ValueFloat32, make([]byte, 0, 4*len(xs))
		for _, x := range xs {
			v.raw = le.AppendUint32(v.raw, math.Float32bits(x))
		}
	case []float64:
		v.ArrayType, v.raw = ValueFloat64, make([]byte, 0, 8*len(xs))
		for _, x := range xs {
			v.raw = le.AppendUint64(v.raw, math.Float64bits(x))
		}
	case []bool:
		v.ArrayType, v.raw = ValueBool, make([]byte, len(xs))
		for i, x := range xs {
			if x {
				v.raw[i] = 1
			}
		}
	case []string:
		total := 0
		for _, s := range xs {
			total += 8 + len(s)
		}
		v.ArrayType, v.raw = ValueString, make([]byte, 0, total)
		for _, s := range xs {
			v.raw = le.AppendUint64(v.raw, uint64(len(s)))
			v.raw = append(v.raw, s...)
		}
	}
	return v
}

// ArrayValue returns a GGUF array of elemType holding elems, each of which
// must have type elemType. Use it for nested arrays (elemType ValueArray; the
// inner arrays may have different element types) or when the element type
// is only known at run time.
func ArrayValue(elemType ValueType, elems ...Value) (Value, error) {
	if !elemType.Known() {
		return Value{}, fmt.Errorf("gguf: array of unknown element type %d", uint32(elemType))
	}
	v := Value{Type: ValueArray, ArrayType: elemType, n: len(elems), raw: []byte{}}
	for i, e := range elems {
		if e.Type != elemType {
			return Value{}, fmt.Errorf("gguf: array of %s: element %d is %s", elemType, i, e.Type)
		}
		var err error
		if v.raw, err = e.appendPayload(v.raw); err != nil {
			return Value{}, fmt.Errorf("gguf: array of %s: element %d: %w", elemType, i, err)
		}
	}
	return v, nil
}

// appendPayload appends the GGUF encoding of v without its type tag.
func (v Value) appendPayload(b []byte) ([]byte, error) {
	le := binary.LittleEndian
	switch v.Type {
	case ValueUint8, ValueInt8, ValueBool:
		return append(b, byte(v.num)), nil
	case ValueUint16, ValueInt16:
		return le.AppendUint16(b, uint16(v.num)), nil
	case ValueUint32, ValueInt32, ValueFloat32:
		return le.AppendUint32(b, uint32(v.num)), nil
	case ValueUint64, ValueInt64, ValueFloat64:
		return le.AppendUint64(b, v.num), nil
	case ValueString:
		b = le.AppendUint64(b, uint64(len(v.str)))
		return append(b, v.str...), nil
	case ValueArray:
		if !v.ArrayType.Known() {
			return b, fmt.Errorf("array of unknown element type %d", uint32(v.ArrayType))
		}
		b = le.AppendUint32(b, uint32(v.ArrayType))
		b = le.AppendUint64(b, uint64(v.n))
		return append(b, v.raw...), nil
	}
	return b, fmt.Errorf("unknown value type %d", uint32(v.Type))
}

// Len returns the number of elements of an array, and 0 for other values.
func (v Value) Len() int {
	if v.Type != ValueArray {
		return 0
	}
	return v.n
}

// Index returns element i of an array. It panics when v is not an array or
// i is out of range, like a slice index. It takes O(1) time for arrays of
// numbers and bools and O(i) for arrays of strings or arrays.
func (v Value) Index(i int) Value {
	if v.Type != ValueArray || i < 0 || i >= v.n {
		panic(fmt.Sprintf("gguf: Value.Index(%d) on %s of length %d", i, v.Type, v.Len()))
	}
	if sz := v.ArrayType.size(); sz > 0 {
		return scalarAt(v.ArrayType, v.raw[i*sz:])
	}
	off := 0
	for range i {
		off += elemLen(v.ArrayType, v.raw[off:])
	}
	e, _ := decodeElem(v.ArrayType, v.raw[off:])
	return e
}

// scalarAt decodes a fixed-size value of type t at the start of b.
func scalarAt(t ValueType, b []byte) Value {
	le := binary.LittleEndian
	switch t.size() {
	case 1:
		return Value{Type: t, num: uint64(b[0])}
	case 2:
		return Value{Type: t, num: uint64(le.Uint16(b))}
	case 4:
		return Value{Type: t, num: uint64(le.Uint32(b))}
	default:
		return Value{Type: t, num: le.Uint64(b)}
	}
}

// elemLen returns the encoded length of the (already validated) element of
// type t at the start of b.
func elemLen(t ValueType, b []byte) int {
	if sz := t.size(); sz > 0 {
		return sz
	}
	le := binary.LittleEndian
	if t == ValueString {
		return 8 + int(le.Uint64(b))
	}
	// Nested array: type, count, elements.
	et := ValueType(le.Uint32(b))
	n := int(le.Uint64(b[4:]))
	if sz := et.size(); sz > 0 {
		return 12 + n*sz
	}
	off := 12
	for range n {
		off += elemLen(et, b[off:])
	}
	return off
}

// decodeElem decodes the (already validated) element of type t at the start
// of b and returns it with its encoded length. Strings and arrays share
// memory with b.
func decodeElem(t ValueType, b []byte) (Value, int) {
	if sz := t.size(); sz > 0 {
		return scalarAt(t, b), sz
	}
	le := binary.LittleEndian
	if t == ValueString {
		l := int(le.Uint64(b))
		return Value{Type: ValueString, str: string(b[8 : 8+l])}, 8 + l
	}
	l := elemLen(t, b)
	et := ValueType(le.Uint32(b))
	n := int(le.Uint64(b[4:]))
	return Value{Type: ValueArray, ArrayType: et, n: n, raw: b[12:l:l]}, l
}

// typeError describes a value of the wrong type.
func (v Value) typeError(want string) error {
	if v.Type == ValueArray {
		return fmt.Errorf("value is an array of %s, not %s", v.ArrayType, want)
	}
	return fmt.Errorf("value is %s, not %s", v.Type, want)
}

// AsUint64 returns an integer value that is not negative.
func (v Value) AsUint64() (uint64, error) {
	if !v.Type.isInteger() {
		return 0, v.typeError("an integer")
	}
	if v.Type.isSigned() {
		i := v.signed()
		if i < 0 {
			return 0, fmt.Errorf("value %d (%s) is negative", i, v.Type)
		}
		return uint64(i), nil
	}
	return v.num, nil
}

// AsInt64 returns an integer value that fits in int64.
func (v Value) AsInt64() (int64, error) {
	if !v.Type.isInteger() {
		return 0, v.typeError("an integer")
	}
	if v.Type.isSigned() {
		return v.signed(), nil
	}
	if v.num > math.MaxInt64 {
		return 0, fmt.Errorf("value %d (%s) does not fit in int64", v.num, v.Type)
	}
	return int64(v.num), nil
}

// AsUint32 returns an integer value of any type that fits in uint32.
func (v Value) AsUint32() (uint32, error) {
	u, err := v.AsUint64()
	if err != nil {
		return 0, err
	}
	if u > math.MaxUint32 {
		return 0, fmt.Errorf("value %d (%s) does not fit in uint32", u, v.Type)
	}
	return uint32(u), nil
}

// AsInt32 returns an integer value of any type that fits in int32.
func (v Value) AsInt32() (int32, error) {
	i, err := v.AsInt64()
	if err != nil {
		return 0, err
	}
	if i < math.MinInt32 || i > math.MaxInt32 {
		return 0, fmt.Errorf("value %d (%s) does not fit in int32", i, v.Type)
	}
	return int32(i), nil
}

// signed returns the sign-extended value of a signed integer type.
func (v Value) signed() int64 {
	switch v.Type {
	case ValueInt8:
		return int64(int8(v.num))
	case ValueInt16:
		return int64(int16(v.num))
	case ValueInt32:
		return int64(int32(v.num))
	}
	return int64(v.num)
}

// AsFloat64 returns a float32 or float64 value.
func (v Value) AsFloat64() (float64, error) {
	switch v.Type {
	case ValueFloat32:
		return float64(math.Float32frombits(uint32(v.num))), nil
	case ValueFloat64:
		return math.Float64frombits(v.num), nil
	}
	return 0, v.typeError("a float")
}

// AsFloat32 returns a float32 value, or a float64 value rounded to float32.
func (v Value) AsFloat32() (float32, error) {
	if v.Type == ValueFloat32 {
		return math.Float32frombits(uint32(v.num)), nil
	}
	f, err := v.AsFloat64()
	return float32(f), err
}

// AsBool returns a bool value.
func (v Value) AsBool() (bool, error) {
	if v.Type != ValueBool {
		return false, v.typeError("bool")
	}
	return v.num != 0, nil
}

// AsString returns a string value.
func (v Value) AsString() (string, error) {
	if v.Type != ValueString {
		return "", v.typeError("string")
	}
	return v.str, nil
}

// AsStrings returns the elements of an array of strings. The strings share
// one backing allocation with v (no per-string copy).
func (v Value) AsStrings() ([]string, error) {
	if v.Type != ValueArray || v.ArrayType != ValueString {
		return nil, v.typeError("an array of string")
	}
	out := make([]string, v.n)
	le := binary.LittleEndian
	off := 0
	for i := range out {
		l := int(le.Uint64(v.raw[off:]))
		off += 8
		if l > 0 {
			// v.raw is never written after the Value is built, so the
			// string may alias it.
			out[i] = unsafe.String(&v.raw[off], l)
		}
		off += l
	}
	return out, nil
}

// AsFloat32s returns the elements of an array of float32 or float64.
func (v Value) AsFloat32s() ([]float32, error) {
	if v.Type != ValueArray || (v.ArrayType != ValueFloat32 && v.ArrayType != ValueFloat64) {
		return nil, v.typeError("an array of float")
	}
	out := make([]float32, v.n)
	le := binary.LittleEndian
	if v.ArrayType == ValueFloat32 {
		for i := range out {
			out[i] = math.Float32frombits(le.Uint32(v.raw[4*i:]))
		}
		return out, nil
	}
	for i := range out {
		out[i] = float32(math.Float64frombits(le.Uint64(v.raw[8*i:])))
	}
	return out, nil
}

// AsInt32s returns the elements of an array of integers, each of which must
// fit in int32.
func (v Value) AsInt32s() ([]int32, error) {
	if v.Type != ValueArray || !v.ArrayType.isInteger() {
		return nil, v.typeError("an array of integers")
	}
	out := make([]int32, v.n)
	le := binary.LittleEndian
	if v.ArrayType == ValueInt32 {
		for i := range out {
			out[i] = int32(le.Uint32(v.raw[4*i:]))
		}
		return out, nil
	}
	sz := v.ArrayType.size()
	for i := range out {
		x, err := scalarAt(v.ArrayType, v.raw[i*sz:]).AsInt32()
		if err != nil {
			return nil, fmt.Errorf("element %d: %w", i, err)
		}
		out[i] = x
	}
	return out, nil
}

// Any returns v as a plain Go value: uint8, int8, uint16, int16, uint32,
// int32, uint64, int64, float32, float64, bool or string for scalars; a
// slice of those ([]uint32, []string, ...) for arrays of scalars; and []any
// for arrays of arrays.
func (v Value) Any() any {
	switch v.Type {
	case ValueUint8:
		return uint8(v.num)
	case ValueInt8:
		return int8(v.num)
	case ValueUint16:
		return uint16(v.num)
	case ValueInt16:
		return int16(v.num)
	case ValueUint32:
		return uint32(v.num)
	case ValueInt32:
		return int32(v.num)
	case ValueUint64:
		return v.num
	case ValueInt64:
		return int64(v.num)
	case ValueFloat32:
		return math.Float32frombits(uint32(v.num))
	case ValueFloat64:
		return math.Float64frombits(v.num)
	case ValueBool:
		return v.num != 0
	case ValueString:
		return v.str
	case ValueArray:
		return v.anyArray()
	}
	return nil
}

func (v Value) anyArray() any {
	switch v.ArrayType {
	case ValueUint8:
		return append([]uint8{}, v.raw...)
	case ValueInt8:
		return sliceOf[int8](v)
	case ValueUint16:
		return sliceOf[uint16](v)
	case ValueInt16:
		return sliceOf[int16](v)
	case ValueUint32:
		return sliceOf[uint32](v)
	case ValueInt32:
		return sliceOf[int32](v)
	case ValueUint64:
		return sliceOf[uint64](v)
	case ValueInt64:
		return sliceOf[int64](v)
	case ValueFloat32:
		return sliceOf[float32](v)
	case ValueFloat64:
		return sliceOf[float64](v)
	case ValueBool:
		return sliceOf[bool](v)
	case ValueString:
		s, _ := v.AsStrings()
		return s
	}
	out := make([]any, 0, v.n)
	v.each(func(e Value) { out = append(out, e.Any()) })
	return out
}

// sliceOf decodes an array of fixed-size elements into a []T.
func sliceOf[T Element](v Value) []T {
	out := make([]T, v.n)
	sz := v.ArrayType.size()
	for i := range out {
		out[i] = scalarAt(v.ArrayType, v.raw[i*sz:]).Any().(T)
	}
	return out
}

// each calls fn for every element of an array in order.
func (v Value) each(fn func(Value)) {
	off := 0
	for range v.n {
		e, l := decodeElem(v.ArrayType, v.raw[off:])
		fn(e)
		off += l
	}
}

// Equal reports whether v and o have the same type and the same encoded
// contents (floats compare bit for bit, so NaN equals the same NaN).
func (v Value) Equal(o Value) bool {
	if v.Type != o.Type {
		return false
	}
	switch v.Type {
	case ValueString:
		return v.str == o.str
	case ValueArray:
		return v.ArrayType == o.ArrayType && v.n == o.n && string(v.raw) == string(o.raw)
	}
	return v.num == o.num
}

// String renders v as text: numbers in Go syntax, strings quoted, arrays as
// [a, b, c] with every element (callers that show long arrays should
// truncate them themselves, for example with Len and Index).
func (v Value) String() string {
	var b strings.Builder
	v.appendText(&b)
	return b.String()
}

func (v Value) appendText(b *strings.Builder) {
	switch v.Type {
	case ValueString:
		b.WriteString(strconv.Quote(v.str))
	case ValueFloat32:
		b.WriteString(strconv.FormatFloat(float64(math.Float32frombits(uint32(v.num))), 'g', -1, 32))
	case ValueFloat64:
		b.WriteString(strconv.FormatFloat(math.Float64frombits(v.num), 'g', -1, 64))
	case ValueArray:
		b.WriteByte('[')
		first := true
		v.each(func(e Value) {
			if !first {
				b.WriteString(", ")
			}
			first = false
			e.appendText(b)
		})
		b.WriteByte(']')
	default:
		fmt.Fprint(b, v.Any())
	}
}

// MarshalJSON renders v as JSON: numbers, booleans, strings and arrays.
// Non-finite floats, which JSON cannot express, become the strings "NaN",
// "+Inf" and "-Inf".
func (v Value) MarshalJSON() ([]byte, error) {
	return v.appendJSON(nil)
}

func (v Value) appendJSON(b []byte) ([]byte, error) {
	switch v.Type {
	case ValueString:
		s, err := json.Marshal(v.str)
		return append(b, s...), err
	case ValueFloat32, ValueFloat64:
		f, _ := v.AsFloat64()
		bits := 64
		if v.Type == ValueFloat32 {
			bits = 32
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return strconv.AppendQuote(b, strconv.FormatFloat(f, 'g', -1, bits)), nil
		}
		return strconv.AppendFloat(b, f, 'g', -1, bits), nil
	case ValueArray:
		b = append(b, '[')
		var err error
		i := 0
		v.each(func(e Value) {
			if err != nil {
				return
			}
			if i > 0 {
				b = append(b, ',')
			}
			i++
			b, err = e.appendJSON(b)
		})
		return append(b, ']'), err
	case ValueBool:
		return strconv.AppendBool(b, v.num != 0), nil
	}
	if v.Type.isSigned() {
		return strconv.AppendInt(b, v.signed(), 10), nil
	}
	if v.Type.isInteger() {
		return strconv.AppendUint(b, v.num, 10), nil
	}
	return b, fmt.Errorf("gguf: cannot marshal value of type %s", v.Type)
}
