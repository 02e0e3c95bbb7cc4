//go:build !purego

#include "textflag.h"

// Attention dot products on an F16 KV cache (see attention_amd64.go). Every
// product of two half-precision values is exact in float32, so VFMADD231PS
// rounds exactly like the Go code's fma32.

// tailMask is eight all-ones lanes then eight zero lanes: the eight
// lanes from tailMask+32-4t keep the first t lanes of a vector.
DATA tailMask<>+0(SB)/8, $0xffffffffffffffff
DATA tailMask<>+8(SB)/8, $0xffffffffffffffff
DATA tailMask<>+16(SB)/8, $0xffffffffffffffff
DATA tailMask<>+24(SB)/8, $0xffffffffffffffff
DATA tailMask<>+32(SB)/8, $0
DATA tailMask<>+40(SB)/8, $0
DATA tailMask<>+48(SB)/8, $0
DATA tailMask<>+56(SB)/8, $0
GLOBL tailMask<>(SB), RODATA|NOPTR, $64

// func tinyDotRowsF16AVX2(x *uint16, stride, rows int, y *float32, n int, scale float32, out *float32)
//
// out[r] = tinyDotF16(x[r*stride:r*stride+n], y[:n]) * scale for r < rows,
// n > 0. Eight rows at a time share each load of y; each row keeps its own
// eight-lane accumulator, reduced as ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)).
// The last n%8 elements go to lanes 0.. with the other lanes' products
// masked to +0*+0, which leaves those lanes as they are (an accumulator
// that starts at +0 never becomes -0). The caller guarantees that the
// rows' x can be read up to n rounded up to 8; y is read only to n.
TEXT ·tinyDotRowsF16AVX2(SB), NOSPLIT, $0-56
	MOVQ x+0(FP), SI
	MOVQ stride+8(FP), BX
	SHLQ $1, BX                 // row stride in bytes
	MOVQ rows+16(FP), CX
	MOVQ y+24(FP), DI
	MOVQ n+32(FP), DX
	MOVQ DX, R13
	ANDQ $7, R13                // tail elements
	SHRQ $3, DX                 // whole chunks of 8
	MOVQ R13, R12
	SHLQ $2, R12
	NEGQ R12
	LEAQ tailMask<>+32(SB), AX
	ADDQ AX, R12
	VMOVUPS (R12), Y14          // first R13 lanes set
	VBROADCASTSS scale+40(FP), Y15
	MOVQ out+48(FP), R8
	LEAQ (BX)(BX*2), AX         // 3 rows

rows8:
	CMPQ CX, $8
	JLT  rows1
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	MOVQ SI, R9
	LEAQ (SI)(BX*4), R10
	MOVQ DI, R11
	MOVQ DX, R12
	TESTQ R12, R12
	JZ    tail8

loop8:
	VMOVUPS   (R11), Y8
	VCVTPH2PS (R9), Y9
	VCVTPH2PS (R9)(BX*1), Y10
	VCVTPH2PS (R9)(BX*2), Y11
	VCVTPH2PS (R9)(AX*1), Y12
	VFMADD231PS Y8, Y9, Y0
	VFMADD231PS Y8, Y10, Y1
	VFMADD231PS Y8, Y11, Y2
	VFMADD231PS Y8, Y12, Y3
	VCVTPH2PS (R10), Y9
	VCVTPH2PS (R10)(BX*1), Y10
	VCVTPH2PS (R10)(BX*2), Y11
	VCVTPH2PS (R10)(AX*1), Y12
	VFMADD231PS Y8, Y9, Y4
	VFMADD231PS Y8, Y10, Y5
	VFMADD231PS Y8, Y11, Y6
	VFMADD231PS Y8, Y12, Y7
	ADDQ $32, R11
	ADDQ $16, R9
	ADDQ $16, R10
	DECQ R12
	JNZ  loop8

tail8:
	TESTQ R13, R13
	JZ    reduce8
	VMASKMOVPS (R11), Y14, Y8
	VCVTPH2PS (R9), Y9
	VCVTPH2PS (R9)(BX*1), Y10
	VCVTPH2PS (R9)(BX*2), Y11
	VCVTPH2PS (R9)(AX*1), Y12
	VANDPS Y14, Y9, Y9
	VANDPS Y14, Y10, Y10
	VANDPS Y14, Y11, Y11
	VANDPS Y14, Y12, Y12
	VFMADD231PS Y8, Y9, Y0
	VFMADD231PS Y8, Y10, Y1
	VFMADD231PS Y8, Y11, Y2
	VFMADD231PS Y8, Y12, Y3
	VCVTPH2PS (R10), Y9
	VCVTPH2PS (R10)(BX*1), Y10
	VCVTPH2PS (R10)(BX*2), Y11
	VCVTPH2PS (R10)(AX*1), Y12
	VANDPS Y14, Y9, Y9
	VANDPS Y14, Y10, Y10
	VANDPS Y14, Y11, Y11
	VANDPS Y14, Y12, Y12
	VFMADD231PS Y8, Y9, Y4
	VFMADD231PS Y8, Y10, Y5
	VFMADD231PS Y8, Y11, Y6
	VFMADD231PS Y8, Y12, Y7

reduce8:
	// Reduce the eight accumulators together: pair rows r and r+4 in
	// the two 128-bit lanes and add the halves (a_i = l_i + l_{i+4}) ...
	VPERM2F128 $0x20, Y4, Y0, Y8
	VPERM2F128 $0x31, Y4, Y0, Y9
	VADDPS     Y9, Y8, Y0
	VPERM2F128 $0x20, Y5, Y1, Y8
	VPERM2F128 $0x31, Y5, Y1, Y9
	VADDPS     Y9, Y8, Y1
	VPERM2F128 $0x20, Y6, Y2, Y8
	VPERM2F128 $0x31, Y6, Y2, Y9
	VADDPS     Y9, Y8, Y2
	VPERM2F128 $0x20, Y7, Y3, Y8
	VPERM2F128 $0x31, Y7, Y3, Y9
	VADDPS     Y9, Y8, Y3
	// ... then b0 = a0+a2 and b1 = a1+a3 for two rows per lane ...
	VUNPCKLPD Y1, Y0, Y8
	VUNPCKHPD Y1, Y0, Y9
	VADDPS    Y9, Y8, Y8
	VUNPCKLPD Y3, Y2, Y10
	VUNPCKHPD Y3, Y2, Y11
	VADDPS    Y11, Y10, Y10
	// ... and b0+b1, rows 0..7 in order.
	VSHUFPS $0x88, Y10, Y8, Y11
	VSHUFPS $0xDD, Y10, Y8, Y12
	VADDPS  Y12, Y11, Y11
	VMULPS  Y15, Y11, Y11
	VMOVUPS Y11, (R8)
	ADDQ $32, R8
	LEAQ (SI)(BX*8), SI
	SUBQ $8, CX
	JMP  rows8

rows1:
	TESTQ CX, CX
	JZ    done
	VXORPS Y0, Y0, Y0
	MOVQ SI, R9
	MOVQ DI, R11
	MOVQ DX, R12
	TESTQ R12, R12
	JZ    tail1

loop1:
	VCVTPH2PS (R9), Y9
	VFMADD231PS (R11), Y9, Y0
	ADDQ $32, R11
	ADDQ $16, R9
	DECQ R12
	JNZ  loop1

tail1:
	TESTQ R13, R13
	JZ    reduce1
	VMASKMOVPS (R11), Y14, Y8
	VCVTPH2PS (R9), Y9
	VANDPS Y14, Y9, Y9
	VFMADD231PS Y8, Y9, Y0

reduce1:
	VEXTRACTF128 $1, Y0, X1
	VADDPS    X1, X0, X0        // a_i = l_i + l_{i+4}
	VMOVHLPS  X0, X0, X1
	VADDPS    X1, X0, X0        // a0+a2, a1+a3
	VMOVSHDUP X0, X1
	VADDSS    X1, X0, X0
	VMULSS    X15, X0, X0
	VMOVSS    X0, (R8)
	ADDQ $4, R8
	ADDQ BX, SI
	DECQ CX
	JMP  rows1

done:
	VZEROUPPER
	RET

// func ggmlDotRowsF16AVX2(x *uint16, stride, rows int, y *float32, n int, out *float32)
//
// out[r] = ggmlDotF16(x[r*stride:r*stride+n], y[:n]) for r < rows, n > 0:
// four eight-lane accumulators over blocks of 32, reduced as ggml does
// (GGML_F32x8_REDUCE), then the leftover products added one by one in
// float64.
TEXT ·ggmlDotRowsF16AVX2(SB), NOSPLIT, $0-48
	MOVQ x+0(FP), SI
	MOVQ stride+8(FP), BX
	SHLQ $1, BX
	MOVQ rows+16(FP), CX
	MOVQ y+24(FP), DI
	MOVQ n+32(FP), DX
	MOVQ out+40(FP), R8
	MOVQ DX, R13
	SHRQ $5, R13                // blocks of 32
	ANDQ $31, DX                // leftovers

grow:
	TESTQ CX, CX
	JZ    gdone
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	MOVQ SI, R9
	MOVQ DI, R11
	MOVQ R13, R10
	TESTQ R10, R10
	JZ    greduce

gblk:
	VCVTPH2PS (R9), Y4
	VCVTPH2PS 16(R9), Y5
	VCVTPH2PS 32(R9), Y6
	VCVTPH2PS 48(R9), Y7
	VFMADD231PS (R11), Y4, Y0
	VFMADD231PS 32(R11), Y5, Y1
	VFMADD231PS 64(R11), Y6, Y2
	VFMADD231PS 96(R11), Y7, Y3
	ADDQ $64, R9
	ADDQ $128, R11
	DECQ R10
	JNZ  gblk

greduce:
	VADDPS Y2, Y0, Y0
	VADDPS Y3, Y1, Y1
	VADDPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS  X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VCVTSS2SD X0, X0, X0
	MOVQ DX, R10
	TESTQ R10, R10
	JZ    gstore

gtail:
	MOVWLZX (R9), AX
	VMOVD   AX, X4
	VCVTPH2PS X4, X4
	VMULSS  (R11), X4, X4
	VCVTSS2SD X4, X4, X4
	VADDSD  X4, X0, X0
	ADDQ $2, R9
	ADDQ $4, R11
	DECQ R10
	JNZ  gtail

gstore:
	VCVTSD2SS X0, X0, X0
	VMOVSS X0, (R8)
	ADDQ $4, R8
	ADDQ BX, SI
	DECQ CX
	JMP  grow

gdone:
	VZEROUPPER
	RET

// func roundF16AVX2(dst, src *float32, n int)
//
// dst[i] = src[i] rounded to half precision (nearest even) for i < n, n a
// positive multiple of 8.
TEXT ·roundF16AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $3, CX

rloop:
	VMOVUPS   (SI), Y0
	VCVTPS2PH $0, Y0, X1
	VCVTPH2PS X1, Y0
	VMOVUPS   Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ  rloop
	VZEROUPPER
	RET

// func ggmlDotRowsF16ShortAVX2(x *uint16, stride, rows int, y *float32, n int, out *float32)
//
// ggmlDotRowsF16AVX2 for n < 32 (no 32-wide block, so each dot is only
// ggml's tail: the float32 products added in order to +0 in float64),
// n a multiple of 8 and rows a multiple of 8: eight rows at a time, their
// products for eight elements transposed so that one float64 lane per row
// adds them in the same order.
TEXT ·ggmlDotRowsF16ShortAVX2(SB), NOSPLIT, $0-48
	MOVQ x+0(FP), SI
	MOVQ stride+8(FP), BX
	SHLQ $1, BX
	MOVQ rows+16(FP), CX
	SHRQ $3, CX
	MOVQ y+24(FP), DI
	MOVQ n+32(FP), DX
	SHRQ $3, DX
	MOVQ out+40(FP), R8

sgroup:
	VXORPD Y10, Y10, Y10
	VXORPD Y11, Y11, Y11
	MOVQ SI, R9
	LEAQ (SI)(BX*2), R10
	ADDQ BX, R10                // row 3
	LEAQ (SI)(BX*2), R11
	LEAQ (R11)(BX*4), R11       // row 6
	MOVQ DI, R12
	MOVQ DX, R13

selem:
	VMOVUPS (R12), Y8
	VCVTPH2PS (R9), Y0
	VCVTPH2PS (R9)(BX*1), Y1
	VCVTPH2PS (R9)(BX*2), Y2
	VCVTPH2PS (R10), Y3
	VCVTPH2PS (R9)(BX*4), Y4
	VCVTPH2PS (R10)(BX*2), Y5
	VCVTPH2PS (R11), Y6
	VCVTPH2PS (R10)(BX*4), Y7
	VMULPS Y8, Y0, Y0
	VMULPS Y8, Y1, Y1
	VMULPS Y8, Y2, Y2
	VMULPS Y8, Y3, Y3
	VMULPS Y8, Y4, Y4
	VMULPS Y8, Y5, Y5
	VMULPS Y8, Y6, Y6
	VMULPS Y8, Y7, Y7
	// rows 0..3: element e in lane e%4 of half e/4 of Y2, Y3, Y12, Y0 (e%4 = 0..3)
	VUNPCKLPS Y1, Y0, Y12
	VUNPCKHPS Y1, Y0, Y13
	VUNPCKLPS Y3, Y2, Y0
	VUNPCKHPS Y3, Y2, Y1
	VSHUFPS $0x44, Y0, Y12, Y2
	VSHUFPS $0xee, Y0, Y12, Y3
	VSHUFPS $0x44, Y1, Y13, Y12
	VSHUFPS $0xee, Y1, Y13, Y0
	// rows 4..7 likewise in Y6, Y7, Y13, Y4
	VUNPCKLPS Y5, Y4, Y13
	VUNPCKHPS Y5, Y4, Y14
	VUNPCKLPS Y7, Y6, Y4
	VUNPCKHPS Y7, Y6, Y5
	VSHUFPS $0x44, Y4, Y13, Y6
	VSHUFPS $0xee, Y4, Y13, Y7
	VSHUFPS $0x44, Y5, Y14, Y13
	VSHUFPS $0xee, Y5, Y14, Y4

#define sAdd(lo, hi) \
	VCVTPS2PD lo, Y1 \
	VCVTPS2PD hi, Y5 \
	VADDPD Y1, Y10, Y10 \
	VADDPD Y5, Y11, Y11

#define sAddHigh(lo, hi) \
	VEXTRACTF128 $1, lo, X14 \
	VEXTRACTF128 $1, hi, X15 \
	VCVTPS2PD X14, Y1 \
	VCVTPS2PD X15, Y5 \
	VADDPD Y1, Y10, Y10 \
	VADDPD Y5, Y11, Y11

	sAdd(X2, X6)
	sAdd(X3, X7)
	sAdd(X12, X13)
	sAdd(X0, X4)
	sAddHigh(Y2, Y6)
	sAddHigh(Y3, Y7)
	sAddHigh(Y12, Y13)
	sAddHigh(Y0, Y4)

	ADDQ $32, R12
	ADDQ $16, R9
	ADDQ $16, R10
	ADDQ $16, R11
	DECQ R13
	JNZ  selem

	VCVTPD2PSY Y10, X10
	VCVTPD2PSY Y11, X11
	VMOVUPS X10, (R8)
	VMOVUPS X11, 16(R8)
	ADDQ $32, R8
	LEAQ (SI)(BX*8), SI
	DECQ CX
	JNZ  sgroup
	VZEROUPPER
	RET

// rowsPerm8: VPERMPS indices that put rows [0 2 4 6 | 1 3 5 7] back in
// order.
DATA rowsPerm8<>+0(SB)/4, $0
DATA rowsPerm8<>+4(SB)/4, $4
DATA rowsPerm8<>+8(SB)/4, $1
DATA rowsPerm8<>+12(SB)/4, $5
DATA rowsPerm8<>+16(SB)/4, $2
DATA rowsPerm8<>+20(SB)/4, $6
DATA rowsPerm8<>+24(SB)/4, $3
DATA rowsPerm8<>+28(SB)/4, $7
GLOBL rowsPerm8<>(SB), RODATA|NOPTR, $32

// func ggmlDotRowsF16x8AVX2(x *uint16, stride, rows int, y *float32, n int, out *float32)
//
// ggmlDotRowsF16AVX2 for n a positive multiple of 32 (no tail, so the
// float64 step is exact and left out) and rows a positive multiple of 8:
// two rows share each load of y; each row's four accumulators are summed
// lane-wise as GGML_F32x8_REDUCE does and kept on the stack; then the
// horizontal steps of eight rows (hi+lo, then the two VHADDPS) run
// together, adding the same pairs in the same order as the one-row code.
TEXT ·ggmlDotRowsF16x8AVX2(SB), NOSPLIT, $256-48
	MOVQ x+0(FP), SI
	MOVQ stride+8(FP), BX
	SHLQ $1, BX
	MOVQ rows+16(FP), R12
	SHRQ $3, R12
	MOVQ y+24(FP), R10
	MOVQ n+32(FP), R13
	SHLQ $1, R13                // bytes of a row's halves
	MOVQ out+40(FP), DX

h8group:
	MOVQ SI, CX
	XORQ DI, DI

h8pair:
	LEAQ (CX)(BX*1), R11
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	XORQ AX, AX

h8loop:
	VCVTPH2PS (CX)(AX*1), Y8
	VCVTPH2PS 16(CX)(AX*1), Y9
	VCVTPH2PS 32(CX)(AX*1), Y10
	VCVTPH2PS 48(CX)(AX*1), Y11
	VCVTPH2PS (R11)(AX*1), Y12
	VCVTPH2PS 16(R11)(AX*1), Y13
	VCVTPH2PS 32(R11)(AX*1), Y14
	VCVTPH2PS 48(R11)(AX*1), Y15
	VFMADD231PS (R10)(AX*2), Y8, Y0
	VFMADD231PS 32(R10)(AX*2), Y9, Y1
	VFMADD231PS 64(R10)(AX*2), Y10, Y2
	VFMADD231PS 96(R10)(AX*2), Y11, Y3
	VFMADD231PS (R10)(AX*2), Y12, Y4
	VFMADD231PS 32(R10)(AX*2), Y13, Y5
	VFMADD231PS 64(R10)(AX*2), Y14, Y6
	VFMADD231PS 96(R10)(AX*2), Y15, Y7
	ADDQ $64, AX
	CMPQ AX, R13
	JLT h8loop

	VADDPS Y2, Y0, Y0
	VADDPS Y3, Y1, Y1
	VADDPS Y1, Y0, Y0
	VADDPS Y6, Y4, Y4
	VADDPS Y7, Y5, Y5
	VADDPS Y5, Y4, Y4
	VMOVUPS Y0, (SP)(DI*1)
	VMOVUPS Y4, 32(SP)(DI*1)
	LEAQ (CX)(BX*2), CX
	ADDQ $64, DI
	CMPQ DI, $256
	JLT h8pair

	VMOVUPS (SP), Y0
	VMOVUPS 32(SP), Y1
	VPERM2F128 $0x20, Y1, Y0, Y8
	VPERM2F128 $0x31, Y1, Y0, Y9
	VADDPS Y9, Y8, Y8
	VMOVUPS 64(SP), Y0
	VMOVUPS 96(SP), Y1
	VPERM2F128 $0x20, Y1, Y0, Y10
	VPERM2F128 $0x31, Y1, Y0, Y9
	VADDPS Y9, Y10, Y10
	VMOVUPS 128(SP), Y0
	VMOVUPS 160(SP), Y1
	VPERM2F128 $0x20, Y1, Y0, Y11
	VPERM2F128 $0x31, Y1, Y0, Y9
	VADDPS Y9, Y11, Y11
	VMOVUPS 192(SP), Y0
	VMOVUPS 224(SP), Y1
	VPERM2F128 $0x20, Y1, Y0, Y12
	VPERM2F128 $0x31, Y1, Y0, Y9
	VADDPS Y9, Y12, Y12
	VHADDPS Y10, Y8, Y8
	VHADDPS Y12, Y11, Y11
	VHADDPS Y11, Y8, Y8
	VMOVUPS rowsPerm8<>(SB), Y13
	VPERMPS Y8, Y13, Y8
	VMOVUPS Y8, (DX)

	ADDQ $32, DX
	LEAQ (SI)(BX*8), SI
	DECQ R12
	JNZ h8group

	VZEROUPPER
	RET
