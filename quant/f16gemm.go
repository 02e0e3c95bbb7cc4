package quant

import (
	"unsafe"

	"github.com/hearthllm/hearth/gguf"
)

// f16GemmKernel names the kernels matMulF16AVX2 runs: a name, not a func
// value, so that the calls stay direct and the buffers on the stack.
type f16GemmKernel uint8

const (
	// f16GemmAVX2 runs four weight rows at a time through
	// dotF16x4x3WAVX2, from zero accumulators on a row's first chunk
	// (dotF16x4x3WZ*) and reducing them on its last (dotF16x4x3W*RAVX2).
	f16GemmAVX2 f16GemmKernel = iota
	// f16GemmGo runs the Go model of the kernels (dotF16WGo, then
	// reduceF32x3AVX2) instead: tests only.
	f16GemmGo
)

// f16GemmTileBytes bounds the weight rows of a matMulF16AVX2 tile: every
// group of activation rows reads the tile's rows from L2, and every tile
// widens every activation row once.
const f16GemmTileBytes = 256 << 10

// maxF16GemmTile bounds the weight rows of a matMulF16AVX2 tile (their
// accumulators, 384 bytes a row, live on the stack).
const maxF16GemmTile = 64

// matMulF16AVX2 is MatMul's F16 product at LevelAVX2: it walks tiles of
// weight rows and, for each group of three activation rows (the last group
// padded with zero rows, whose sums are not stored), the rows in chunks of
// f16GemmChunk elements. Each chunk of the group is widened to float32 once
// (exact), then four weight rows at a time go through the kernel, which
// carries each (weight row, activation row) pair's 32 accumulator lanes
// from chunk to chunk exactly as dotF16x3AVX2 does and reduces them on the
// last chunk as reduceF32x3AVX2 does: the results are vecDotF16's AVX2
// bits. Weight rows left over in a tile go through dotF16x3AVX2 one at a
// time. It returns how many activation rows it did: m, or 0 when the rows
// do not fit it (m < 3, or rows shorter than 32 elements). r0 < r1.
func matMulF16AVX2(kern f16GemmKernel, dst []float32, ldDst int, w []byte, rowBytes, n int, a []byte, aRowBytes, m int, r0, r1 int) int {
	np := n &^ 31
	if m < floatBatchRows || np == 0 || 2*n > rowBytes || 2*n > aRowBytes {
		return 0
	}
	// The kernels read the rows through raw pointers: check once that the
	// last weight row and activation row are in range.
	_ = w[(r1-1)*rowBytes : (r1-1)*rowBytes+2*n]
	_ = a[(m-1)*aRowBytes : (m-1)*aRowBytes+2*n]
	var acc [maxF16GemmTile][floatBatchRows * 32]float32
	var wide [floatBatchRows][f16GemmChunk]float32 // the group's widened chunk
	var part [floatBatchRows][f16GemmChunk]uint16  // a padded group's chunk (leftover weight rows)
	var sums [4 * floatBatchRows]float32           // a kernel's sums: weight row k, activation row c at 4c+k
	var out [floatBatchRows]float32
	tile := min(maxF16GemmTile, max(8, f16GemmTileBytes/rowBytes&^3))
	for t0 := r0; t0 < r1; t0 += tile {
		t1 := min(t0+tile, r1)
		quads := t0 + (t1-t0)&^3 // the rows from here on are left over
		for i0 := 0; i0 < m; i0 += floatBatchRows {
			rows := min(floatBatchRows, m-i0) // activation rows of this group
			clear(acc[quads-t0 : t1-t0])
			for k0 := 0; k0 < np; k0 += f16GemmChunk {
				kn := min(f16GemmChunk, np-k0)
				first, last := k0 == 0, k0+kn == np
				for c := range wide {
					if c >= rows {
						clear(wide[c][:kn])
						continue
					}
					yc := asU16(a[(i0+c)*aRowBytes+2*k0 : (i0+c)*aRowBytes+2*(k0+kn)])
					if kern == f16GemmGo {
						for i, h := range yc {
							wide[c][i] = FP16ToFP32(h)
						}
					} else {
						widenF16AVX2(&wide[c][0], &yc[0], kn)
					}
				}
				y := &wide[0][0]
				for r := t0; r < quads; r += 4 {
					x, ac := &asU16(w[r*rowBytes+2*k0 : (r+3)*rowBytes+2*(k0+kn)])[0], &acc[r-t0][0]
					switch {
					case kern == f16GemmGo:
						if first {
							clear(acc[r-t0 : r-t0+4])
						}
						dotF16WGo(4, floatBatchRows, x, rowBytes, y, 4*f16GemmChunk, kn, ac)
						if last {
							for k := 0; k < 4; k++ {
								reduceF32x3AVX2(&acc[r-t0+k][0], &out[0])
								for c, v := range out {
									sums[4*c+k] = v
								}
							}
						}
					case first && last:
						dotF16x4x3WZRAVX2(x, rowBytes, y, 4*f16GemmChunk, kn, ac, &sums[0])
					case first:
						dotF16x4x3WZAVX2(x, rowBytes, y, 4*f16GemmChunk, kn, ac)
					case last:
						dotF16x4x3WRAVX2(x, rowBytes, y, 4*f16GemmChunk, kn, ac, &sums[0])
					default:
						dotF16x4x3WAVX2(x, rowBytes, y, 4*f16GemmChunk, kn, ac)
					}
					if last {
						for k := 0; k < 4; k++ {
							for c := 0; c < rows; c++ {
								out[c] = sums[4*c+k]
							}
							floatTails(gguf.TypeF16, dst, ldDst, w, rowBytes, n, a, aRowBytes, i0, r+k, out[:rows])
						}
					}
				}
				if quads == t1 {
					continue
				}
				// Leftover weight rows: dotF16x3AVX2 on the F16 chunk (a
				// padded group's copied into part).
				yh, yStride := &asU16(a[i0*aRowBytes+2*k0:])[0], aRowBytes
				if rows < floatBatchRows {
					for c := range part {
						if c < rows {
							copy(part[c][:kn], asU16(a[(i0+c)*aRowBytes+2*k0:(i0+c)*aRowBytes+2*(k0+kn)]))
						} else {
							clear(part[c][:kn])
						}
					}
					yh, yStride = &part[0][0], 2*f16GemmChunk
				}
				for r := quads; r < t1; r++ {
					x := asU16(w[r*rowBytes+2*k0 : r*rowBytes+2*(k0+kn)])
					dotF16x3AVX2(&x[0], yh, yStride, kn, &acc[r-t0][0])
					if !last {
						continue
					}
					reduceF32x3AVX2(&acc[r-t0][0], &out[0])
					floatTails(gguf.TypeF16, dst, ldDst, w, rowBytes, n, a, aRowBytes, i0, r, out[:rows])
				}
			}
		}
	}
	return m
}

// dotF16WGo is the contract of the kernels on widened activations in Go
// (dotF16x4x3WAVX512 and dotF16x4x3WAVX2 with R, C = 4, 3): accumulator
// lane l of weight row k, activation row c (acc[32(C·k+c)+l]) gets
// fma(x_k[32i+l], y_c[32i+l], acc) for every step i, the weight rows
// xStride bytes apart, the activations float32 rows yStride bytes apart.
// matMulFloatAVX2 and matMulF16AVX2 run it in tests only.
func dotF16WGo(R, C int, x *uint16, xStride int, y *float32, yStride, n int, acc *float32) {
	xs := unsafe.Slice(x, (R-1)*xStride/2+n)
	ys := unsafe.Slice(y, (C-1)*yStride/4+n)
	as := unsafe.Slice(acc, R*C*32)
	for k := 0; k < R; k++ {
		xk := xs[k*xStride/2 : k*xStride/2+n]
		for c := 0; c < C; c++ {
			yc := ys[c*yStride/4 : c*yStride/4+n]
			ac := as[32*(C*k+c) : 32*(C*k+c)+32]
			for i, h := range xk {
				ac[i%32] = fmaF32(FP16ToFP32(h), yc[i], ac[i%32])
			}
		}
	}
}

// f16GemmChunk is the row chunk (elements) matMulF16AVX2 takes at a time:
// the group's three widened activation rows of it and four weight rows' of
// it stay in L1 through the kernel's four passes.
const f16GemmChunk = 512
