package main

// An emulator of the few x86 instructions the generated AVX-512 kernels use,
// written from the instruction descriptions in Intel's SDM (Go operand
// order: Intel's reversed, mask before the destination). It runs the
// committed ../avx512_amd64.s (and ../q40x8_amd64.s, ../q4kx8_amd64.s, whose
// VNNI kernels need AVX-512 too: emu_q40x8_test.go) on machines without
// AVX-512 and compares the
// results with Go models of the AVX2 kernels' arithmetic, so a data-layout
// or operand-order mistake shows up before the kernels reach AVX-512
// hardware (where quant's own tests compare them with the AVX2 kernels).

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
)

type emuInst struct {
	op   string
	args []string
	line int
}

type emuFunc struct {
	insts  []emuInst
	labels map[string]int
}

// emuProgram is the parsed assembly: functions and read-only data.
type emuProgram struct {
	funcs map[string]*emuFunc
	data  map[string][]byte
}

func parseAsm(t *testing.T, path string) *emuProgram {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p := &emuProgram{funcs: map[string]*emuFunc{}, data: map[string][]byte{}}
	var cur *emuFunc
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if i := strings.Index(line, "//"); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		switch {
		case strings.HasPrefix(line, "TEXT "):
			name := strings.TrimPrefix(strings.Fields(line)[1], "·")
			name = strings.TrimSuffix(name, "(SB),")
			cur = &emuFunc{labels: map[string]int{}}
			p.funcs[name] = cur
		case strings.HasPrefix(line, "DATA "):
			// DATA sym<>+off(SB)/size, $value
			rest := strings.TrimPrefix(line, "DATA ")
			sym := rest[:strings.Index(rest, "<>")]
			off, _ := strconv.Atoi(rest[strings.Index(rest, "+")+1 : strings.Index(rest, "(SB)")])
			size, _ := strconv.Atoi(rest[strings.Index(rest, "/")+1 : strings.Index(rest, ",")])
			v, err := strconv.ParseUint(strings.TrimPrefix(strings.TrimSpace(rest[strings.Index(rest, "$")+1:]), "0x"), 16, 64)
			if err != nil {
				t.Fatalf("line %d: %v", n, err)
			}
			b := p.data[sym]
			for len(b) < off+size {
				b = append(b, 0)
			}
			for i := 0; i < size; i++ {
				b[off+i] = byte(v >> (8 * i))
			}
			p.data[sym] = b
		case strings.HasPrefix(line, "GLOBL "):
		case strings.HasSuffix(line, ":"):
			cur.labels[strings.TrimSuffix(line, ":")] = len(cur.insts)
		default:
			fs := strings.SplitN(line, " ", 2)
			in := emuInst{op: fs[0], line: n}
			if len(fs) == 2 {
				for _, a := range strings.Split(fs[1], ",") {
					in.args = append(in.args, strings.TrimSpace(a))
				}
			}
			cur.insts = append(cur.insts, in)
		}
	}
	return p
}

// emu is the machine state: a flat memory, GPRs holding addresses into it,
// 32 vector registers of 64 bytes and 8 opmask registers.
type emu struct {
	t    *testing.T
	mem  []byte
	gpr  map[string]uint64
	vec  [32][64]byte
	k    [8]uint64
	zf   bool
	syms map[string]uint64
	in   emuInst
	// regions are the allocated [start, end) ranges; every access must lie
	// inside one (the gaps between them catch over-reads).
	regions [][2]uint64
}

// check fails unless [a, a+n) lies inside one allocated region.
func (e *emu) check(a, n uint64) {
	for _, r := range e.regions {
		if a >= r[0] && a+n <= r[1] {
			return
		}
	}
	e.fail("access of %d bytes at %#x outside every allocation", n, a)
}

func (e *emu) fail(format string, args ...any) {
	e.t.Helper()
	e.t.Fatalf("line %d %s %v: %s", e.in.line, e.in.op, e.in.args, fmt.Sprintf(format, args...))
}

// alloc copies b into memory and returns its address.
func (e *emu) alloc(b []byte) uint64 {
	addr := uint64(len(e.mem))
	e.mem = append(e.mem, b...)
	e.regions = append(e.regions, [2]uint64{addr, addr + uint64(len(b))})
	e.mem = append(e.mem, make([]byte, 64)...) // a gap
	return addr
}

func isVec(s string) bool {
	return len(s) >= 2 && (s[0] == 'X' || s[0] == 'Y' || s[0] == 'Z') && s[1] >= '0' && s[1] <= '9'
}

// vreg returns the register number and width in bytes of X/Y/Z n.
func (e *emu) vreg(s string) (int, int) {
	n, err := strconv.Atoi(s[1:])
	if err != nil || !isVec(s) {
		e.fail("not a vector register: %s", s)
	}
	return n, map[byte]int{'X': 16, 'Y': 32, 'Z': 64}[s[0]]
}

func (e *emu) kreg(s string) int {
	if len(s) != 2 || s[0] != 'K' {
		e.fail("not a mask register: %s", s)
	}
	return int(s[1] - '0')
}

func imm(e *emu, s string) uint64 {
	v, err := strconv.ParseUint(strings.TrimPrefix(strings.TrimPrefix(s, "$"), "0x"), 16, 64)
	if !strings.HasPrefix(s, "$0x") {
		v, err = strconv.ParseUint(strings.TrimPrefix(s, "$"), 10, 64)
	}
	if err != nil {
		e.fail("bad immediate %s", s)
	}
	return v
}

// addr evaluates a memory operand disp(base)(index*scale) or sym<>+off(SB).
func (e *emu) addr(s string) uint64 {
	if strings.HasSuffix(s, "(SB)") {
		sym := s[:strings.Index(s, "<>")]
		off, _ := strconv.Atoi(s[strings.Index(s, "+")+1 : strings.Index(s, "(SB)")])
		a, ok := e.syms[sym]
		if !ok {
			e.fail("unknown symbol %s", sym)
		}
		return a + uint64(off)
	}
	i := strings.Index(s, "(")
	var disp int64
	if i > 0 {
		d, err := strconv.ParseInt(s[:i], 10, 64)
		if err != nil {
			e.fail("bad displacement %s", s)
		}
		disp = d
	}
	parts := strings.Split(strings.TrimSuffix(s[i+1:], ")"), ")(")
	if _, ok := e.gpr[parts[0]]; !ok {
		e.fail("base register %s never set", parts[0])
	}
	a := e.gpr[parts[0]] + uint64(disp)
	if len(parts) == 2 {
		ix := strings.Split(parts[1], "*")
		sc, _ := strconv.Atoi(ix[1])
		if isVec(ix[0]) {
			e.fail("vector index (VSIB) not emulated")
		}
		a += e.gpr[ix[0]] * uint64(sc)
	}
	return a
}

func isMem(s string) bool { return strings.Contains(s, "(") }

// load returns n bytes of a register (its low bytes) or of memory.
func (e *emu) load(s string, n int) []byte {
	if isMem(s) {
		a := e.addr(s)
		e.check(a, uint64(n))
		return append([]byte(nil), e.mem[a:a+uint64(n)]...)
	}
	r, _ := e.vreg(s)
	return append([]byte(nil), e.vec[r][:n]...)
}

// set writes b to register s (len(b) = its width) and zeroes the rest, as
// VEX and EVEX instructions do.
func (e *emu) set(s string, b []byte) {
	r, w := e.vreg(s)
	if len(b) != w {
		e.fail("writing %d bytes to %s", len(b), s)
	}
	var v [64]byte
	copy(v[:], b)
	e.vec[r] = v
}

func (e *emu) width(s string) int { _, w := e.vreg(s); return w }

func u32(b []byte, i int) uint32      { return binary.LittleEndian.Uint32(b[4*i:]) }
func put32(b []byte, i int, v uint32) { binary.LittleEndian.PutUint32(b[4*i:], v) }
func f32(b []byte, i int) float32     { return math.Float32frombits(u32(b, i)) }
func putf(b []byte, i int, v float32) { put32(b, i, math.Float32bits(v)) }

// halfToFloat converts IEEE binary16 to float32 (exact).
func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := int(h>>10) & 31
	frac := uint32(h & 1023)
	switch {
	case exp == 31:
		return math.Float32frombits(sign | 0x7f800000 | frac<<13)
	case exp == 0:
		v := float32(frac) / (1 << 24)
		if sign != 0 {
			v = -v
		}
		return v
	}
	return math.Float32frombits(sign | uint32(exp-15+127)<<23 | frac<<13)
}

// fma32 is x·y+z rounded once to float32: the product is exact in
// float64, the sum exact in 1000 bits, and Float32 rounds to nearest even.
func fma32(x, y, z float32) float32 {
	if x == 0 || y == 0 || z == 0 {
		return x*y + z // at most one inexact step (Go does not fuse on GOAMD64=v1; fusing would be exact too)
	}
	p := new(big.Float).SetFloat64(float64(x) * float64(y))
	s := new(big.Float).SetPrec(1000).Add(p, new(big.Float).SetFloat64(float64(z)))
	r, _ := s.Float32()
	return r
}

func (e *emu) run(fn *emuFunc, args map[string]uint64) {
	for pc := 0; pc < len(fn.insts); pc++ {
		in := fn.insts[pc]
		e.in = in
		a := in.args
		switch in.op {
		case "MOVQ":
			if v, ok := e.gpr[a[0]]; ok { // register to register
				e.gpr[a[1]] = v
				break
			}
			if strings.HasPrefix(a[0], "$") { // an immediate
				e.gpr[a[1]] = imm(e, a[0])
				break
			}
			if !strings.HasSuffix(a[0], "(FP)") {
				e.fail("unsupported MOVQ")
			}
			e.gpr[a[1]] = args[a[0][:strings.Index(a[0], "+")]]
		case "LEAQ":
			e.gpr[a[1]] = e.addr(a[0])
		case "MOVL":
			e.gpr[a[1]] = imm(e, a[0]) & 0xffffffff
		case "MOVWLZX":
			e.gpr[a[1]] = uint64(binary.LittleEndian.Uint16(e.load(a[0], 2)))
		case "ADDQ":
			if v, ok := e.gpr[a[0]]; ok { // register to register
				e.gpr[a[1]] += v
				break
			}
			e.gpr[a[1]] += imm(e, a[0])
		case "SUBQ":
			e.gpr[a[1]] -= imm(e, a[0])
			e.zf = e.gpr[a[1]] == 0
		case "SHLQ":
			e.gpr[a[1]] <<= imm(e, a[0])
		case "DECQ":
			e.gpr[a[0]]--
			e.zf = e.gpr[a[0]] == 0
		case "JNZ":
			if !e.zf {
				pc = fn.labels[a[0]] - 1
			}
		case "PREFETCHT0":
		case "RET":
			return
		case "VZEROUPPER":
			for r := 0; r < 16; r++ {
				for i := 16; i < 64; i++ {
					e.vec[r][i] = 0
				}
			}
		case "KMOVW":
			e.k[e.kreg(a[1])] = e.gpr[a[0]] & 0xffff
		case "VMOVD":
			b := make([]byte, 16)
			put32(b, 0, uint32(e.gpr[a[0]]))
			e.set(a[1], b)
		case "VMOVQ":
			b := make([]byte, 16)
			binary.LittleEndian.PutUint64(b, e.gpr[a[0]])
			e.set(a[1], b)
		case "VPSRLW":
			sh := imm(e, a[0])
			w := e.width(a[2])
			x := e.load(a[1], w)
			for i := 0; i < w/2; i++ {
				binary.LittleEndian.PutUint16(x[2*i:], binary.LittleEndian.Uint16(x[2*i:])>>sh)
			}
			e.set(a[2], x)
		case "VPBROADCASTD":
			w := e.width(a[1])
			b := make([]byte, w)
			v := uint32(e.gpr[a[0]])
			if isMem(a[0]) {
				v = u32(e.load(a[0], 4), 0)
			} else if _, ok := e.gpr[a[0]]; !ok {
				e.fail("unknown register %s", a[0])
			}
			for i := 0; i < w/4; i++ {
				put32(b, i, v)
			}
			e.set(a[1], b)
		case "VMOVDQU32", "VMOVDQU64", "VMOVDQA64", "VMOVDQU":
			if isMem(a[1]) { // a store
				addr := e.addr(a[1])
				n := e.width(a[0])
				e.check(addr, uint64(n))
				copy(e.mem[addr:addr+uint64(n)], e.load(a[0], n))
				break
			}
			e.set(a[1], e.load(a[0], e.width(a[1])))
		case "VPBROADCASTQ":
			src := e.load(a[0], 8)
			w := e.width(a[1])
			b := make([]byte, 0, w)
			for len(b) < w {
				b = append(b, src...)
			}
			e.set(a[1], b)
		case "VPSRLD", "VPSLLD":
			sh := imm(e, a[0])
			w := e.width(a[2])
			x := e.load(a[1], w)
			for i := 0; i < w/4; i++ {
				if in.op == "VPSRLD" {
					put32(x, i, u32(x, i)>>sh)
				} else {
					put32(x, i, u32(x, i)<<sh)
				}
			}
			e.set(a[2], x)
		case "VPHADDW":
			w := e.width(a[2])
			x, y := e.load(a[0], w), e.load(a[1], w) // src2, src1
			d := make([]byte, w)
			hw := func(b []byte, i int) uint16 { return binary.LittleEndian.Uint16(b[2*i:]) }
			for l := 0; l < w/16; l++ {
				for i := 0; i < 4; i++ {
					binary.LittleEndian.PutUint16(d[16*l+2*i:], hw(y[16*l:], 2*i)+hw(y[16*l:], 2*i+1))
					binary.LittleEndian.PutUint16(d[16*l+8+2*i:], hw(x[16*l:], 2*i)+hw(x[16*l:], 2*i+1))
				}
			}
			e.set(a[2], d)
		case "VPMADDUBSW":
			w := e.width(a[2])
			s, u := e.load(a[0], w), e.load(a[1], w)
			d := make([]byte, w)
			for i := 0; i < w/2; i++ {
				v := int32(u[2*i])*int32(int8(s[2*i])) + int32(u[2*i+1])*int32(int8(s[2*i+1]))
				v = max(-32768, min(32767, v))
				binary.LittleEndian.PutUint16(d[2*i:], uint16(int16(v)))
			}
			e.set(a[2], d)
		case "VPDPWSSD", "VPDPWSSD.BCST":
			w := e.width(a[2])
			var x []byte
			if in.op == "VPDPWSSD.BCST" { // a dword in memory, broadcast to every lane
				m := e.load(a[0], 4)
				for len(x) < w {
					x = append(x, m...)
				}
			} else {
				x = e.load(a[0], w)
			}
			y, acc := e.load(a[1], w), e.load(a[2], w)
			hw := func(b []byte, i int) int32 { return int32(int16(binary.LittleEndian.Uint16(b[2*i:]))) }
			for j := 0; j < w/4; j++ {
				put32(acc, j, uint32(int32(u32(acc, j))+hw(y, 2*j)*hw(x, 2*j)+hw(y, 2*j+1)*hw(x, 2*j+1)))
			}
			e.set(a[2], acc)
		case "VMOVSS":
			addr := e.addr(a[1])
			e.check(addr, 4)
			copy(e.mem[addr:addr+4], e.load(a[0], 4))
		case "VMOVUPS":
			if !isMem(a[1]) { // a load
				e.set(a[1], e.load(a[0], e.width(a[1])))
				break
			}
			n := e.width(a[0])
			addr := e.addr(a[1])
			e.check(addr, uint64(n))
			copy(e.mem[addr:addr+uint64(n)], e.load(a[0], n))
		case "VPDPBUSD.BCST", "VPSUBD.BCST":
			// The first operand is a dword in memory, broadcast to every lane.
			w := e.width(a[2])
			m := e.load(a[0], 4)
			s := make([]byte, 0, w)
			for len(s) < w {
				s = append(s, m...)
			}
			y, acc := e.load(a[1], w), e.load(a[2], w)
			for j := 0; j < w/4; j++ {
				if in.op == "VPSUBD.BCST" { // dst = y - m
					put32(acc, j, u32(y, j)-u32(s, j))
					continue
				}
				sum := int32(u32(acc, j))
				for k := 4 * j; k < 4*j+4; k++ {
					sum += int32(y[k]) * int32(int8(s[k]))
				}
				put32(acc, j, uint32(sum))
			}
			e.set(a[2], acc)
		case "VBROADCASTI64X4":
			src := e.load(a[0], 32)
			e.set(a[1], append(src, src...))
		case "VBROADCASTSS":
			src := e.load(a[0], 4)
			dst := a[len(a)-1]
			w := e.width(dst)
			b := make([]byte, 0, w)
			for len(b) < w {
				b = append(b, src...)
			}
			if len(a) == 3 { // merge-masking: lanes whose mask bit is 0 keep dst's value
				m, old := e.k[e.kreg(a[1])], e.load(dst, w)
				for i := 0; i < w/4; i++ {
					if m>>i&1 == 0 {
						copy(b[4*i:4*i+4], old[4*i:4*i+4])
					}
				}
			}
			e.set(dst, b)
		case "VPBROADCASTW":
			src := e.load(a[0], 2)
			w := e.width(a[1])
			b := make([]byte, 0, w)
			for len(b) < w {
				b = append(b, src...)
			}
			e.set(a[1], b)
		case "VPXORD", "VPANDD", "VPXOR", "VPAND", "VPORD", "VPOR", "VXORPS", "VPSUBB", "VPSUBD", "VPADDD", "VPMULLD":
			w := e.width(a[2])
			x, y := e.load(a[0], w), e.load(a[1], w) // Intel: dst = y op x
			d := make([]byte, w)
			for i := range d {
				switch in.op {
				case "VPXORD", "VPXOR", "VXORPS":
					d[i] = x[i] ^ y[i]
				case "VPANDD", "VPAND":
					d[i] = x[i] & y[i]
				case "VPORD", "VPOR":
					d[i] = x[i] | y[i]
				case "VPSUBB":
					d[i] = y[i] - x[i]
				}
			}
			for i := 0; i < w/4; i++ {
				switch in.op {
				case "VPSUBD":
					put32(d, i, u32(y, i)-u32(x, i))
				case "VPADDD":
					put32(d, i, u32(y, i)+u32(x, i))
				case "VPMULLD":
					put32(d, i, u32(y, i)*u32(x, i))
				}
			}
			e.set(a[2], d)
		case "VPINSRW":
			d := e.load(a[2], 16)
			k := imm(e, a[0])
			copy(d[2*k:2*k+2], e.load(a[1], 2))
			e.set(a[3], d)
		case "VCVTPH2PS":
			w := e.width(a[1])
			src := e.load(a[0], w/2)
			d := make([]byte, w)
			for i := 0; i < w/4; i++ {
				putf(d, i, halfToFloat(binary.LittleEndian.Uint16(src[2*i:])))
			}
			e.set(a[1], d)
		case "VMULPS", "VADDPS", "VSUBPS":
			w := e.width(a[2])
			x, y := e.load(a[0], w), e.load(a[1], w)
			d := make([]byte, w)
			for i := 0; i < w/4; i++ {
				if in.op == "VMULPS" {
					putf(d, i, f32(y, i)*f32(x, i))
				} else if in.op == "VSUBPS" {
					putf(d, i, f32(y, i)-f32(x, i))
				} else {
					putf(d, i, f32(y, i)+f32(x, i))
				}
			}
			e.set(a[2], d)
		case "VHADDPS":
			w := e.width(a[2])
			x, y := e.load(a[0], w), e.load(a[1], w) // src2, src1
			d := make([]byte, w)
			for l := 0; l < w/16; l++ {
				putf(d, 4*l, f32(y, 4*l)+f32(y, 4*l+1))
				putf(d, 4*l+1, f32(y, 4*l+2)+f32(y, 4*l+3))
				putf(d, 4*l+2, f32(x, 4*l)+f32(x, 4*l+1))
				putf(d, 4*l+3, f32(x, 4*l+2)+f32(x, 4*l+3))
			}
			e.set(a[2], d)
		case "VADDSS":
			x, y := e.load(a[0], 16), e.load(a[1], 16)
			putf(y, 0, f32(y, 0)+f32(x, 0))
			e.set(a[2], y)
		case "VMOVHLPS":
			x, y := e.load(a[0], 16), e.load(a[1], 16) // xmm3, xmm2
			d := make([]byte, 16)
			copy(d[:8], x[8:])
			copy(d[8:], y[8:])
			e.set(a[2], d)
		case "VMOVSHDUP":
			x := e.load(a[0], 16)
			d := make([]byte, 16)
			for i := 0; i < 4; i++ {
				put32(d, i, u32(x, i|1))
			}
			e.set(a[1], d)
		case "VPERMW":
			tbl, idx := e.load(a[0], 64), e.load(a[1], 64)
			d := make([]byte, 64)
			for i := 0; i < 32; i++ {
				j := int(binary.LittleEndian.Uint16(idx[2*i:]) & 31)
				copy(d[2*i:2*i+2], tbl[2*j:2*j+2])
			}
			e.set(a[2], d)
		case "VPMOVSXBW":
			w := e.width(a[1])
			x := e.load(a[0], w/2)
			d := make([]byte, w)
			for i := range x {
				binary.LittleEndian.PutUint16(d[2*i:], uint16(int16(int8(x[i]))))
			}
			e.set(a[1], d)
		case "VPMADDWD":
			w := e.width(a[2])
			x, y := e.load(a[0], w), e.load(a[1], w)
			hw := func(b []byte, i int) int32 { return int32(int16(binary.LittleEndian.Uint16(b[2*i:]))) }
			d := make([]byte, w)
			for j := 0; j < w/4; j++ {
				put32(d, j, uint32(hw(y, 2*j)*hw(x, 2*j)+hw(y, 2*j+1)*hw(x, 2*j+1)))
			}
			e.set(a[2], d)
		case "VPADDW":
			w := e.width(a[2])
			x, y := e.load(a[0], w), e.load(a[1], w)
			d := make([]byte, w)
			for i := 0; i < w/2; i++ {
				binary.LittleEndian.PutUint16(d[2*i:], binary.LittleEndian.Uint16(x[2*i:])+binary.LittleEndian.Uint16(y[2*i:]))
			}
			e.set(a[2], d)
		case "VINSERTI64X4", "VINSERTF64X4", "VINSERTI128":
			w := e.width(a[3])
			d := e.load(a[2], w)
			n := 32
			if in.op != "VINSERTI64X4" && in.op != "VINSERTF64X4" {
				n = 16
			}
			k := int(imm(e, a[0]))
			copy(d[k*n:(k+1)*n], e.load(a[1], n))
			e.set(a[3], d)
		case "VEXTRACTF64X4", "VEXTRACTF128":
			n := e.width(a[2])
			src := e.load(a[1], 2*n)
			k := int(imm(e, a[0]))
			e.set(a[2], src[k*n:(k+1)*n])
		case "VPABSB":
			w := e.width(a[1])
			x := e.load(a[0], w)
			for i := range x {
				if int8(x[i]) < 0 {
					x[i] = byte(-int8(x[i]))
				}
			}
			e.set(a[1], x)
		case "VPMOVB2M":
			x := e.load(a[0], 64)
			var m uint64
			for i := range x {
				m |= uint64(x[i]>>7) << i
			}
			e.k[e.kreg(a[1])] = m
		case "VPBLENDMB":
			x, y := e.load(a[0], 64), e.load(a[1], 64) // zmm3, zmm2
			m := e.k[e.kreg(a[2])]
			d := make([]byte, 64)
			for i := range d {
				if m>>i&1 == 1 {
					d[i] = x[i]
				} else {
					d[i] = y[i]
				}
			}
			e.set(a[3], d)
		case "VPDPBUSD":
			w := e.width(a[2])
			s, u, acc := e.load(a[0], w), e.load(a[1], w), e.load(a[2], w)
			for j := 0; j < w/4; j++ {
				sum := int32(u32(acc, j))
				for k := 4 * j; k < 4*j+4; k++ {
					sum += int32(u[k]) * int32(int8(s[k]))
				}
				put32(acc, j, uint32(sum))
			}
			e.set(a[2], acc)
		case "VCVTDQ2PS":
			w := e.width(a[1])
			x := e.load(a[0], w)
			for i := 0; i < w/4; i++ {
				putf(x, i, float32(int32(u32(x, i))))
			}
			e.set(a[1], x)
		case "VPERMPS":
			tbl, idx := e.load(a[0], 64), e.load(a[1], 64)
			d := make([]byte, 64)
			for i := 0; i < 16; i++ {
				put32(d, i, u32(tbl, int(u32(idx, i)&15)))
			}
			e.set(a[2], d)
		case "VFMADD231PS":
			w := e.width(a[2])
			x, y, acc := e.load(a[0], w), e.load(a[1], w), e.load(a[2], w)
			for i := 0; i < w/4; i++ {
				putf(acc, i, fma32(f32(y, i), f32(x, i), f32(acc, i)))
			}
			e.set(a[2], acc)
		case "VPSRLQ", "VPSLLQ":
			if len(a) == 3 {
				sh := imm(e, a[0])
				w := e.width(a[2])
				x := e.load(a[1], w)
				for i := 0; i < w/8; i++ {
					v := binary.LittleEndian.Uint64(x[8*i:])
					if in.op == "VPSRLQ" {
						v >>= sh
					} else {
						v <<= sh
					}
					binary.LittleEndian.PutUint64(x[8*i:], v)
				}
				e.set(a[2], x)
				break
			}
			if in.op != "VPSRLQ" {
				e.fail("masked VPSLLQ not emulated")
			}
			sh := imm(e, a[0])
			src := e.load(a[1], 64)
			m := e.k[e.kreg(a[2])]
			d := e.load(a[3], 64)
			for i := 0; i < 8; i++ {
				if m>>i&1 == 1 {
					binary.LittleEndian.PutUint64(d[8*i:], binary.LittleEndian.Uint64(src[8*i:])>>sh)
				}
			}
			e.set(a[3], d)
		default:
			e.fail("instruction not emulated")
		}
	}
	e.fail("ran off the end")
}

// newEmu returns an emulator with the program's data symbols in memory.
func newEmu(t *testing.T, p *emuProgram) *emu {
	e := &emu{t: t, mem: make([]byte, 4096), gpr: map[string]uint64{}, syms: map[string]uint64{}}
	for name, b := range p.data {
		e.syms[name] = e.alloc(b)
	}
	e.gpr["SP"] = e.alloc(make([]byte, 1024))
	return e
}

// Reference models of the AVX2 kernels (q8_0DotAVX2Order is the quant
// package's, checked there against q8_0Q8_0DotAVX2).

func q8_0DotAVX2Order(w, a []byte, nb int) float32 {
	var lane [8]float32
	for b := 0; b < nb; b++ {
		bw, ba := w[b*34:], a[b*34:]
		d := halfToFloat(binary.LittleEndian.Uint16(bw)) * halfToFloat(binary.LittleEndian.Uint16(ba))
		for j := 0; j < 8; j++ {
			var s int32
			for k := 4 * j; k < 4*j+4; k++ {
				x, y := int8(bw[2+k]), int8(ba[2+k])
				u := int32(uint8(x))
				if x < 0 {
					u = int32(uint8(-x))
					y = -y
				}
				s += u * int32(y)
			}
			lane[j] = fma32(float32(s), d, lane[j])
		}
	}
	var h [4]float32
	for i := range h {
		h[i] = lane[4+i] + lane[i]
	}
	return (h[0] + h[2]) + (h[1] + h[3])
}

// q6KDotAVX2Order is a Go model of ggml's AVX2 ggml_vec_dot_q6_K_q8_K (the
// quant package's q6KDotAVX2Order, checked there against q6KDotAVX2).
func q6KDotAVX2Order(w, a []byte, nb int) float32 {
	var facc [8]float32
	for b := 0; b < nb; b++ {
		wb, ab := w[b*210:], a[b*292:]
		ql, qh := wb[:128], wb[128:192]
		var lane [8]int32
		for k := 0; k < 8; k++ {
			h, i := k/4, k%4
			for e := 0; e < 32; e++ {
				var q byte
				switch i {
				case 0:
					q = ql[64*h+e]&0xf | (qh[32*h+e]&3)<<4
				case 1:
					q = ql[64*h+32+e]&0xf | (qh[32*h+e]&0xc)<<2
				case 2:
					q = ql[64*h+e]>>4 | qh[32*h+e]&0x30
				case 3:
					q = ql[64*h+32+e]>>4 | (qh[32*h+e]&0xc0)>>2
				}
				sc := int32(int8(wb[192+2*k+e/16]))
				lane[e/4] += sc * int32(q) * int32(int8(ab[4+32*k+e]))
			}
		}
		bs := func(g int) int32 { return int32(int16(binary.LittleEndian.Uint16(ab[260+2*g:]))) }
		d := halfToFloat(binary.LittleEndian.Uint16(wb[208:])) * math.Float32frombits(binary.LittleEndian.Uint32(ab))
		for j := range lane {
			lane[j] -= 32 * (int32(int8(wb[192+2*j]))*bs(2*j) + int32(int8(wb[193+2*j]))*bs(2*j+1))
			facc[j] = fma32(float32(lane[j]), d, facc[j])
		}
	}
	var h [4]float32
	for i := range h {
		h[i] = facc[4+i] + facc[i]
	}
	return (h[0] + h[2]) + (h[1] + h[3])
}

// randHalf returns a finite half-precision scale (sometimes zero).
func randHalf(rng *rand.Rand) uint16 {
	if rng.IntN(8) == 0 {
		return uint16(rng.IntN(2)) << 15
	}
	return uint16(rng.IntN(2))<<15 | uint16(rng.IntN(22)+1)<<10 | uint16(rng.IntN(1024))
}

func emuInput(rng *rand.Rand, blockLen, rows, nb, pad, mode int) (w, a []byte, rowBytes int) {
	q := func() byte {
		switch mode {
		case 1:
			return [...]byte{0x80, 0x7f, 0x81, 0, 0xff}[rng.IntN(5)]
		case 2:
			return 0x80
		}
		return byte(rng.Uint32())
	}
	rowBytes = nb*blockLen + pad
	w = make([]byte, rows*rowBytes)
	for i := range w {
		w[i] = q()
	}
	for r := 0; r < rows; r++ {
		for b := 0; b < nb; b++ {
			switch blockLen {
			case 210: // Q6_K: d last
				binary.LittleEndian.PutUint16(w[r*rowBytes+b*blockLen+208:], randHalf(rng))
			case 144: // Q4_K: d, dmin
				binary.LittleEndian.PutUint16(w[r*rowBytes+b*blockLen:], randHalf(rng))
				binary.LittleEndian.PutUint16(w[r*rowBytes+b*blockLen+2:], randHalf(rng))
			default:
				binary.LittleEndian.PutUint16(w[r*rowBytes+b*blockLen:], randHalf(rng))
			}
		}
	}
	if blockLen == 144 || blockLen == 210 { // Q8_K activations with their bsums
		a = make([]byte, nb*292)
		for b := 0; b < nb; b++ {
			ab := a[b*292:]
			binary.LittleEndian.PutUint32(ab, math.Float32bits(halfToFloat(randHalf(rng))*float32(rng.NormFloat64())))
			for i := 4; i < 260; i++ {
				ab[i] = q()
			}
			for g := 0; g < 16; g++ {
				var sum int16
				for i := 0; i < 16; i++ {
					sum += int16(int8(ab[4+16*g+i]))
				}
				binary.LittleEndian.PutUint16(ab[260+2*g:], uint16(sum))
			}
		}
		return w, a, rowBytes
	}
	a = make([]byte, nb*34)
	for i := range a {
		a[i] = q()
	}
	for b := 0; b < nb; b++ {
		binary.LittleEndian.PutUint16(a[b*34:], randHalf(rng))
	}
	return w, a, rowBytes
}

func TestEmulatedKernels(t *testing.T) {
	path := "../avx512_amd64.s"
	if s := os.Getenv("EMU_ASM"); s != "" { // a mutated copy, to see the test fail
		path = s
	}
	p := parseAsm(t, path)
	rng := rand.New(rand.NewPCG(61, 62))
	kernels := []struct {
		name     string
		rows     int
		blockLen int
		ref      func(w, a []byte, nb int) float32
	}{
		{"q8_0Q8_0Gemv8AVX512", 8, 34, q8_0DotAVX2Order},
		{"q6KQ8KGemv8AVX512", 8, 210, q6KDotAVX2Order},
	}
	for _, k := range kernels {
		fn := p.funcs[k.name]
		if fn == nil {
			t.Fatalf("%s not in the assembly", k.name)
		}
		for _, nb := range []int{1, 2, 3, 8, 9, 33} {
			for mode := 0; mode < 3; mode++ {
				for _, pad := range []int{0, 5} {
					w, a, rowBytes := emuInput(rng, k.blockLen, k.rows, nb, pad, mode)
					e := newEmu(t, p)
					dst := e.alloc(make([]byte, 4*k.rows))
					args := map[string]uint64{"dst": dst, "w": e.alloc(w), "rowBytes": uint64(rowBytes), "a": e.alloc(a), "nb": uint64(nb)}
					e.run(fn, args)
					for r := 0; r < k.rows; r++ {
						got := math.Float32frombits(binary.LittleEndian.Uint32(e.mem[dst+uint64(4*r):]))
						want := k.ref(w[r*rowBytes:], a, nb)
						if math.Float32bits(got) != math.Float32bits(want) {
							t.Fatalf("%s nb=%d mode=%d pad=%d row %d: emulated %g, reference %g", k.name, nb, mode, pad, r, got, want)
						}
					}
				}
			}
		}
	}
}

// packQ8_0x8 is PackQ8_0x8's layout of eight Q8_0 rows of nb blocks (row j
// at a[j*nb*34:]): per block, the eight float32 scales, then the eight
// rows' 32 quants.
func packQ8_0x8(a []byte, nb int) []byte {
	out := make([]byte, nb*288)
	for b := 0; b < nb; b++ {
		o := out[b*288:]
		for j := 0; j < 8; j++ {
			blk := a[(j*nb+b)*34:]
			putf(o, j, halfToFloat(binary.LittleEndian.Uint16(blk)))
			copy(o[32+32*j:32+32*j+32], blk[2:34])
		}
	}
	return out
}

// TestEmulatedGemmQ8_0 runs q8_0GemmX8AVX512 on weight rows against eight
// packed activation rows and checks every pair against the AVX2 order's
// model, and that nothing else in dst is written.
func TestEmulatedGemmQ8_0(t *testing.T) {
	path := "../avx512_amd64.s"
	if s := os.Getenv("EMU_ASM"); s != "" {
		path = s
	}
	p := parseAsm(t, path)
	fn := p.funcs["q8_0GemmX8AVX512"]
	if fn == nil {
		t.Fatal("q8_0GemmX8AVX512 not in the assembly")
	}
	rng := rand.New(rand.NewPCG(63, 64))
	sentinel := math.Float32frombits(0x7fc0dead)
	for _, nb := range []int{1, 2, 3, 9, 33} {
		for _, rows := range []int{2, 4, 6} {
			for mode := 0; mode < 3; mode++ {
				pad := rng.IntN(7)
				w, _, rowBytes := emuInput(rng, 34, rows, nb, pad, mode)
				a, _, _ := emuInput(rng, 34, 8, nb, 0, mode)
				ld := rows + rng.IntN(3)
				e := newEmu(t, p)
				d := make([]byte, 4*8*ld)
				for i := 0; i < 8*ld; i++ {
					putf(d, i, sentinel)
				}
				dst := e.alloc(d)
				args := map[string]uint64{"w": e.alloc(w), "rowBytes": uint64(rowBytes), "rows": uint64(rows),
					"ap": e.alloc(packQ8_0x8(a, nb)), "nb": uint64(nb), "dst": dst, "ldDst": uint64(ld)}
				e.run(fn, args)
				for j := 0; j < 8; j++ {
					for r := 0; r < ld; r++ {
						got := math.Float32frombits(binary.LittleEndian.Uint32(e.mem[dst+uint64(4*(j*ld+r)):]))
						want := sentinel
						if r < rows {
							want = q8_0DotAVX2Order(w[r*rowBytes:], a[j*nb*34:], nb)
						}
						if math.Float32bits(got) != math.Float32bits(want) {
							t.Fatalf("nb=%d rows=%d mode=%d: activation row %d, weight row %d: emulated %g, want %g", nb, rows, mode, j, r, got, want)
						}
					}
				}
			}
		}
	}
}

// packQ4_0x8 is the unpacked layout q4_0x8PackAVX2 writes, made from nb
// blocks of the eight row-major Q4_0 rows (18-byte blocks) at w, rowBytes
// apart: per block eight vectors W_k whose dword j holds row j's quants
// 4k..4k+3 (0..15), then the rows' float32 d_w.
func packQ4_0x8(w []byte, rowBytes, nb int) []byte {
	out := make([]byte, nb*288)
	for b := 0; b < nb; b++ {
		o := out[b*288:]
		for j := 0; j < 8; j++ {
			blk := w[j*rowBytes+b*18:]
			for e := 0; e < 32; e++ {
				q := blk[2+e%16] & 15
				if e >= 16 {
					q = blk[2+e%16] >> 4
				}
				o[32*(e/4)+4*j+e%4] = q
			}
			putf(o, 64+j, halfToFloat(binary.LittleEndian.Uint16(blk)))
		}
	}
	return out
}

// TestEmulatedGemmQ4_0 runs q4_0GemmR4x16AVX512 on sixteen packed weight
// rows and four activation rows, from random accumulators in dst, and
// checks every pair against the AVX2 kernel's arithmetic: acc =
// fma(float32(Σ (q_w-8)·q_a), d_a·d_w, acc) block after block.
func TestEmulatedGemmQ4_0(t *testing.T) {
	path := "../avx512_amd64.s"
	if s := os.Getenv("EMU_ASM"); s != "" {
		path = s
	}
	p := parseAsm(t, path)
	fn := p.funcs["q4_0GemmR4x16AVX512"]
	if fn == nil {
		t.Fatal("q4_0GemmR4x16AVX512 not in the assembly")
	}
	rng := rand.New(rand.NewPCG(65, 66))
	sentinel := math.Float32frombits(0x7fc0dead)
	for _, nb := range []int{1, 2, 3, 9, 32} {
		for mode := 0; mode < 3; mode++ {
			pad := rng.IntN(7)
			w, _, rowBytes := emuInput(rng, 18, 16, nb, pad, mode)
			a, _, _ := emuInput(rng, 34, 4, nb, 0, mode)
			aStride := nb*34 + rng.IntN(5)
			as := make([]byte, 4*aStride)
			tab := make([]byte, 4*nb*8)
			for i := 0; i < 4; i++ {
				copy(as[i*aStride:], a[i*nb*34:(i+1)*nb*34])
				for b := 0; b < nb; b++ {
					blk := a[(i*nb+b)*34:]
					var s int32
					for e := 0; e < 32; e++ {
						s += int32(int8(blk[2+e]))
					}
					putf(tab, 2*(i*nb+b), halfToFloat(binary.LittleEndian.Uint16(blk)))
					put32(tab, 2*(i*nb+b)+1, uint32(8*s))
				}
			}
			pack := append(packQ4_0x8(w, rowBytes, nb), make([]byte, 64)...) // 64 bytes apart
			pack = append(pack, packQ4_0x8(w[8*rowBytes:], rowBytes, nb)...)
			ld := 16 + rng.IntN(3)
			d := make([]byte, 4*4*ld)
			acc0 := make([]float32, 4*ld)
			for i := range acc0 {
				acc0[i] = sentinel
				if i%ld < 16 && mode != 2 {
					acc0[i] = float32(rng.NormFloat64())
				} else if i%ld < 16 {
					acc0[i] = 0
				}
				putf(d, i, acc0[i])
			}
			e := newEmu(t, p)
			dst := e.alloc(d)
			args := map[string]uint64{"pack": e.alloc(pack), "packB": uint64(nb*288 + 64), "a": e.alloc(as), "aStride": uint64(aStride),
				"tab": e.alloc(tab), "tabStride": uint64(nb * 8), "nb": uint64(nb), "dst": dst, "ldDst": uint64(ld)}
			e.run(fn, args)
			for i := 0; i < 4; i++ {
				for r := 0; r < ld; r++ {
					got := math.Float32frombits(binary.LittleEndian.Uint32(e.mem[dst+uint64(4*(i*ld+r)):]))
					want := acc0[i*ld+r]
					if r < 16 {
						for b := 0; b < nb; b++ {
							bw, ba := w[r*rowBytes+b*18:], a[(i*nb+b)*34:]
							var s int32
							for j := 0; j < 16; j++ {
								s += (int32(bw[2+j]&15) - 8) * int32(int8(ba[2+j]))
								s += (int32(bw[2+j]>>4) - 8) * int32(int8(ba[18+j]))
							}
							dd := halfToFloat(binary.LittleEndian.Uint16(ba)) * halfToFloat(binary.LittleEndian.Uint16(bw))
							want = fma32(float32(s), dd, want)
						}
					}
					if math.Float32bits(got) != math.Float32bits(want) {
						t.Fatalf("nb=%d mode=%d: activation row %d, weight row %d: emulated %g, want %g", nb, mode, i, r, got, want)
					}
				}
			}
		}
	}
}

// q4KScaleMinModel returns sub-block j's 6-bit scale and min from the 12
// packed scale bytes of a Q4_K super-block (get_scale_min_k4).
func q4KScaleMinModel(j int, sc []byte) (s, m uint8) {
	if j < 4 {
		return sc[j] & 63, sc[j+4] & 63
	}
	return sc[j+4]&0xf | (sc[j-4]>>6)<<4, sc[j+4]>>4 | (sc[j]>>6)<<4
}

// packQ4Kx8 is q4KPack8AVX2 + q4KPack8ScalesAVX2's layout of nb
// super-blocks of the eight Q4_K rows (144-byte blocks) at w, rowBytes
// apart, 2496 bytes a super-block: V[j][c] (dword r = quants 4c..4c+3 of
// sub-block j of row r), SC[j] (dword r = the int16 pair (s_j, s_j)),
// MN[sb] (dword r = (m_2sb, m_2sb+1)), then the rows' d and dmin as
// float32.
func packQ4Kx8(w []byte, rowBytes, nb int) []byte {
	out := make([]byte, nb*2496)
	for b := 0; b < nb; b++ {
		o := out[b*2496:]
		for r := 0; r < 8; r++ {
			blk := w[r*rowBytes+b*144:]
			for j := 0; j < 8; j++ {
				for l := 0; l < 32; l++ {
					o[32*(j*8+l/4)+4*r+l%4] = (blk[16+(j/2)*32+l] >> (4 * (j % 2))) & 15
				}
				s, _ := q4KScaleMinModel(j, blk[4:16])
				put32(o[2048+32*j:], r, uint32(s)|uint32(s)<<16)
			}
			for sb := 0; sb < 4; sb++ {
				_, m0 := q4KScaleMinModel(2*sb, blk[4:16])
				_, m1 := q4KScaleMinModel(2*sb+1, blk[4:16])
				put32(o[2304+32*sb:], r, uint32(m0)|uint32(m1)<<16)
			}
			putf(o[2432:], r, halfToFloat(binary.LittleEndian.Uint16(blk)))
			putf(o[2464:], r, halfToFloat(binary.LittleEndian.Uint16(blk[2:])))
		}
	}
	return out
}

// q4KGemmR2Model carries acc and accMin of one Q4_K weight row (nb
// super-blocks at w) and one Q8_K activation row (at a) through the
// super-blocks in q4KGemmR2AVX2's arithmetic: per 64-element half sb the
// exact integers isum and imin, then acc = fma(float32(isum), d_a·d, acc)
// and accMin = fma(float32(imin), d_a·dmin, accMin).
func q4KGemmR2Model(w, a []byte, nb int, acc, accMin float32) (float32, float32) {
	for b := 0; b < nb; b++ {
		wb, ab := w[b*144:], a[b*292:]
		da := math.Float32frombits(binary.LittleEndian.Uint32(ab))
		d := da * halfToFloat(binary.LittleEndian.Uint16(wb))
		dmin := da * halfToFloat(binary.LittleEndian.Uint16(wb[2:]))
		for sb := 0; sb < 4; sb++ {
			var isum, imin int32
			for j := 2 * sb; j < 2*sb+2; j++ {
				s, m := q4KScaleMinModel(j, wb[4:16])
				var sub int32
				for l := 0; l < 32; l++ {
					sub += int32((wb[16+(j/2)*32+l]>>(4*(j%2)))&15) * int32(int8(ab[4+32*j+l]))
				}
				isum += int32(s) * sub
				bs := int32(int16(binary.LittleEndian.Uint16(ab[260+4*j:]))) + int32(int16(binary.LittleEndian.Uint16(ab[262+4*j:])))
				imin += int32(m) * bs
			}
			acc = fma32(float32(isum), d, acc)
			accMin = fma32(float32(imin), dmin, accMin)
		}
	}
	return acc, accMin
}

// TestEmulatedGemmQ4K runs q4KGemmR4x16AVX512 on sixteen packed Q4_K
// weight rows (two runs of the eight-row layout, packB apart) and four
// Q8_K activation rows, from random accumulators, and checks every acc and
// accMin against the AVX2 kernel's arithmetic, bit for bit, on random and
// extreme quants and scales (mode 1: bytes 0x80, 0x7f, 0x81, 0, 0xff, so
// scales and mins of 63 and sub-block sums of ±32·15·128; mode 2: all
// 0x80), and that nothing past the sixteen pairs of each row is written.
func TestEmulatedGemmQ4K(t *testing.T) {
	path := "../avx512_amd64.s"
	if s := os.Getenv("EMU_ASM"); s != "" {
		path = s
	}
	p := parseAsm(t, path)
	fn := p.funcs["q4KGemmR4x16AVX512"]
	if fn == nil {
		t.Fatal("q4KGemmR4x16AVX512 not in the assembly")
	}
	rng := rand.New(rand.NewPCG(67, 68))
	for _, nb := range []int{1, 2, 3, 5} {
		for mode := 0; mode < 3; mode++ {
			pad := rng.IntN(7)
			w, _, rowBytes := emuInput(rng, 144, 16, nb, pad, mode)
			aStride := nb*292 + rng.IntN(5)
			as := make([]byte, 4*aStride)
			for i := 0; i < 4; i++ {
				_, a, _ := emuInput(rng, 144, 0, nb, 0, mode)
				copy(as[i*aStride:], a)
			}
			if mode == 1 {
				// One super-block of row 0 at the integer extremes: every
				// nibble 15, scales and mins 63, against all -128.
				for i := 16; i < 144; i++ {
					w[i] = 0xff
				}
				for i := 4; i < 16; i++ {
					w[i] = 0xff
				}
				for i := 4; i < 260; i++ {
					as[i] = 0x80
				}
				for g := 0; g < 16; g++ {
					binary.LittleEndian.PutUint16(as[260+2*g:], uint16(0xffff&-2048))
				}
			}
			pack := append(packQ4Kx8(w, rowBytes, nb), make([]byte, 64)...) // 64 bytes apart
			pack = append(pack, packQ4Kx8(w[8*rowBytes:], rowBytes, nb)...)
			accs := make([]byte, 4*128+64)
			acc0 := make([]float32, len(accs)/4)
			for i := range acc0 {
				acc0[i] = float32(rng.NormFloat64())
				if mode == 2 {
					acc0[i] = 0
				}
				putf(accs, i, acc0[i])
			}
			e := newEmu(t, p)
			dst := e.alloc(accs)
			args := map[string]uint64{"pack": e.alloc(pack), "packB": uint64(nb*2496 + 64), "a": e.alloc(as), "aStride": uint64(aStride),
				"nb": uint64(nb), "acc": dst}
			e.run(fn, args)
			for k := range acc0 {
				got := math.Float32frombits(binary.LittleEndian.Uint32(e.mem[dst+uint64(4*k):]))
				want := acc0[k]
				if i, r := k/32, k%16; i < 4 {
					acc, accMin := q4KGemmR2Model(w[r*rowBytes:], as[i*aStride:], nb, acc0[32*i+r], acc0[32*i+16+r])
					want = acc
					if k%32 >= 16 {
						want = accMin
					}
				}
				if math.Float32bits(got) != math.Float32bits(want) {
					t.Fatalf("nb=%d mode=%d: accumulator %d (activation row %d, weight row %d): emulated %g, want %g", nb, mode, k, k/32, k%16, got, want)
				}
			}
		}
	}
}
