package quant

import (
	"unsafe"

	"github.com/hearthllm/hearth/gguf"
)

// matMulRowTile is how many weight rows the unbatched MatMul keeps hot in
// cache while it walks the activation rows.
const matMulRowTile = 16

// matMulTileBytes bounds the weight rows a batched MatMul tile holds, so that
// the tile stays in L2 while every group of activation rows passes over it.
const matMulTileBytes = 128 << 10

// batchRows is how many activation rows a batched kernel takes at once.
const batchRows = 4

// maxBatchBlocks bounds the row length (in 32-element blocks) the batched
// kernels take, so that their scale table lives on the stack (16 KiB);
// longer rows (n > 16384) use the unbatched path.
const maxBatchBlocks = 512

// maxPairSumBlocks bounds the row length (in 32-element blocks) for which
// the eight-row Q4_0 kernel takes precomputed activation pair sums (their
// table, 64 KiB, lives on the stack); longer rows use the plain kernel.
const maxPairSumBlocks = 256

// floatBatchRows is how many activation rows the F32/F16 batched kernels
// take at once.
const floatBatchRows = 3

// floatChunk is the row chunk (elements) the F32/F16 batched kernels take
// at a time: three activation rows of it (at most 6 KiB) stay in L1.
const floatChunk = 512

// maxFloatTile bounds the weight rows of a F32/F16 tile (their accumulators,
// 384 bytes a row, live on the stack).
const maxFloatTile = 32

// MatMul computes dst[i*ldDst+r] = W[r,:]·A[i,:] for weight rows r in
// [r0, r1) and activation rows i in [0, m): the batched (prefill) form of
// MatVec. A holds m rows of aRowBytes each, already converted to
// tr.VecDotType. Results equal MatVec's bit for bit, so logits do not depend
// on how tokens are batched.
//
// At LevelAVX2, Q4_0, Q4_1, Q5_0, Q5_1 and Q8_0 weights go through kernels
// that decode each weight block once for eight (Q4_0, Q5_0, Q8_0) or four
// activation rows, F32 through a kernel that loads each weight vector once
// for three activation rows, F16 through one that widens each weight vector
// once for three activation rows and loads each (widened) activation vector
// once for four weight rows (matMulF16AVX2), Q2_K..Q6_K through
// ones that decode each weight block once for eight (or four) activation rows; other types
// (and leftover rows) call tr.VecDot for each pair, visiting the weights in
// tiles so that each tile is read from memory once for all m rows. At
// LevelAVX512, F16 weights go four rows at a time through a kernel that
// widens each weight vector once for three activation rows (whose chunks
// are widened once for the tile), and the leftover activation rows through
// the eight-row one-token kernel (same bits). It allocates nothing.
func MatMul(tr *Traits, dst []float32, ldDst int, w []byte, rowBytes, n int, a []byte, aRowBytes, m int, r0, r1 int) {
	matMulAt(useAVX2, tr.VecDot, tr, dst, ldDst, w, rowBytes, n, a, aRowBytes, m, r0, r1)
}

// matMulAt is MatMul with the batched kernels when avx2 is set (the CPU
// must have them; the AVX-512 ones where the process runs at LevelAVX512
// and the type has them) and dot as the row dot product for everything
// else.
func matMulAt(avx2 bool, dot func(n int, w, a []byte) float32, tr *Traits, dst []float32, ldDst int, w []byte, rowBytes, n int, a []byte, aRowBytes, m int, r0, r1 int) {
	lv := LevelGeneric
	if avx2 {
		lv = batchLevel(tr.Type)
	}
	matMulLevel(lv, dot, tr, dst, ldDst, w, rowBytes, n, a, aRowBytes, m, r0, r1)
}

// matMulLevel is MatMul with level lv's batched kernels (the CPU must have
// them; LevelAVX512 only changes the types with AVX-512 batched kernels
// here, F16) and dot as the row dot product for everything else. At
// LevelAVX512 the F16 activation rows left over by the batched kernel go
// eight weight rows at a time through gemvF16x8AVX512, which gives
// vecDotF16's AVX2 bits (dot must give them too).
func matMulLevel(lv Level, dot func(n int, w, a []byte) float32, tr *Traits, dst []float32, ldDst int, w []byte, rowBytes, n int, a []byte, aRowBytes, m int, r0, r1 int) {
	if r0 >= r1 || m <= 0 {
		return
	}
	done := 0
	x512 := lv >= LevelAVX512 && tr.Type == gguf.TypeF16 && hasAVX512Kernels(gguf.TypeF16)
	if lv >= LevelAVX2 {
		switch tr.Type {
		case gguf.TypeF16:
			if x512 {
				done = matMulFloatAVX2(tr.Type, f16x4Default, dst, ldDst, w, rowBytes, n, a, aRowBytes, m, r0, r1)
			} else {
				done = matMulF16AVX2(f16GemmAVX2, dst, ldDst, w, rowBytes, n, a, aRowBytes, m, r0, r1)
			}
		case gguf.TypeF32:
			done = matMulFloatAVX2(tr.Type, f16x4None, dst, ldDst, w, rowBytes, n, a, aRowBytes, m, r0, r1)
		case gguf.TypeQ2_K, gguf.TypeQ3_K, gguf.TypeQ4_K, gguf.TypeQ5_K, gguf.TypeQ6_K:
			done = matMulKQuantAVX2(tr.Type, dst, ldDst, w, rowBytes, n, a, aRowBytes, m, r0, r1)
		default:
			done = matMulLegacyAVX2(tr.Type, dst, ldDst, w, rowBytes, n, a, aRowBytes, m, r0, r1)
		}
	}
	for t0 := r0; t0 < r1; t0 += matMulRowTile {
		t1 := min(t0+matMulRowTile, r1)
		for i := done; i < m; i++ {
			ar := a[i*aRowBytes : (i+1)*aRowBytes]
			out := dst[i*ldDst : i*ldDst+t1]
			r := t0
			if x512 {
				r = gemvF16AVX512(out, w, rowBytes, n, ar, t0, t1)
			}
			for ; r < t1; r++ {
				off := r * rowBytes
				out[r] = dot(n, w[off:off+rowBytes], ar)
			}
		}
	}
}

// legacyDot4 returns the byte sizes of the weight and activation blocks of
// weight type t's batched kernel and whether it has min terms (Q4_1, Q5_1:
// activation blocks are Q8_1). ok is false for types without one.
func legacyDot4(t gguf.TensorType) (wLen, aLen int, withMin, ok bool) {
	switch t {
	case gguf.TypeQ4_0:
		return blockQ4_0Len, blockQ8_0Len, false, true
	case gguf.TypeQ5_0:
		return blockQ5_0Len, blockQ8_0Len, false, true
	case gguf.TypeQ8_0:
		return blockQ8_0Len, blockQ8_0Len, false, true
	case gguf.TypeQ4_1:
		return blockQ4_1Len, blockQ8_1Len, true, true
	case gguf.TypeQ5_1:
		return blockQ5_1Len, blockQ8_1Len, true, true
	}
	return 0, 0, false, false
}

// dot4AVX2 calls weight type t's batched kernel (a direct call, so that
// the pointers do not escape).
func dot4AVX2(t gguf.TensorType, w, a *byte, aStride int, tab *float32, nb int, out *float32) {
	switch t {
	case gguf.TypeQ4_0:
		q4_0Q8_0Dot4AVX2(w, a, aStride, tab, nb, out)
	case gguf.TypeQ5_0:
		q5_0Q8_0Dot4AVX2(w, a, aStride, tab, nb, out)
	case gguf.TypeQ8_0:
		q8_0Q8_0Dot4AVX2(w, a, aStride, tab, nb, out)
	case gguf.TypeQ4_1:
		q4_1Q8_1Dot4AVX2(w, a, aStride, tab, nb, out)
	case gguf.TypeQ5_1:
		q5_1Q8_1Dot4AVX2(w, a, aStride, tab, nb, out)
	}
}

// matMulLegacyAVX2 runs the batched kernels of weight type t over the
// activation rows in groups of eight (Q4_0, Q5_0, Q8_0) or four and returns how
// many rows it did, a multiple of four (0 when t has no batched kernel or
// the rows do not fit one). r0 < r1.
func matMulLegacyAVX2(t gguf.TensorType, dst []float32, ldDst int, w []byte, rowBytes, n int, a []byte, aRowBytes, m int, r0, r1 int) int {
	wLen, aLen, withMin, ok := legacyDot4(t)
	nb := n / 32
	if !ok || m < batchRows || nb == 0 || nb > maxBatchBlocks || nb*wLen > rowBytes || nb*aLen > aRowBytes {
		return 0
	}
	wide := t == gguf.TypeQ4_0 || t == gguf.TypeQ5_0 || t == gguf.TypeQ8_0 // has eight-row kernels
	done := m / batchRows * batchRows
	// The kernels read nb blocks of each row through raw pointers: check
	// once that the last weight row and activation row are in range.
	_ = w[(r1-1)*rowBytes : (r1-1)*rowBytes+nb*wLen]
	_ = a[(done-1)*aRowBytes : (done-1)*aRowBytes+nb*aLen]
	var tab [2 * batchRows * maxBatchBlocks]float32
	var out [2 * batchRows]float32
	// Q4_0's eight-row groups use the activation pair sums (rows up to
	// maxPairSumBlocks blocks).
	var corr [2 * batchRows * maxPairSumBlocks * 32]byte
	pairSums := t == gguf.TypeQ4_0 && nb <= maxPairSumBlocks
	tile := max(batchRows, matMulTileBytes/rowBytes)
	for t0 := r0; t0 < r1; t0 += tile {
		t1 := min(t0+tile, r1)
		for i0 := 0; i0 < done; {
			g := batchRows // activation rows in this group
			if wide && done-i0 >= 2*batchRows {
				g = 2 * batchRows
			}
			per := g // floats per block in tab: d_a of each row, then s_a
			if withMin {
				per = 2 * g
			}
			for j := 0; j < g; j++ {
				ar := a[(i0+j)*aRowBytes : (i0+j)*aRowBytes+nb*aLen]
				for b := 0; b < nb; b++ {
					blk := ar[b*aLen : b*aLen+4]
					tab[b*per+j] = f16At(blk)
					if withMin {
						tab[b*per+g+j] = f16At(blk[2:])
					}
				}
			}
			if g == 2*batchRows && pairSums {
				q8_0PairSums8AVX2(&a[i0*aRowBytes], aRowBytes, nb, &corr[0])
			}
			for r := t0; r < t1; r++ {
				wr, ar := &w[r*rowBytes], &a[i0*aRowBytes]
				switch {
				case g == 2*batchRows && pairSums:
					q4_0Q8_0Dot8CAVX2(wr, ar, aRowBytes, &tab[0], &corr[0], nb, &out[0])
				case g == 2*batchRows && t == gguf.TypeQ4_0:
					q4_0Q8_0Dot8AVX2(wr, ar, aRowBytes, &tab[0], nb, &out[0])
				case g == 2*batchRows && t == gguf.TypeQ5_0:
					q5_0Q8_0Dot8AVX2(wr, ar, aRowBytes, &tab[0], nb, &out[0])
				case g == 2*batchRows:
					q8_0Q8_0Dot8AVX2(wr, ar, aRowBytes, &tab[0], nb, &out[0])
				default:
					dot4AVX2(t, wr, ar, aRowBytes, &tab[0], nb, &out[0])
				}
				for j := 0; j < g; j++ {
					v := out[j]
					if withMin {
						v += out[g+j]
					}
					dst[(i0+j)*ldDst+r] = v
				}
			}
			i0 += g
		}
	}
	return done
}

// matMulFloatAVX2 runs the F32 or F16 batched kernel over the first m/3*3
// activation rows and returns how many rows it did (0 when the rows do not
// fit it). It walks tiles of weight rows, and for each group of three
// activation rows the row in chunks of floatChunk elements, carrying each
// pair's accumulators from chunk to chunk. Unless k4 is f16x4None (F16
// only; the AVX-512 kernels need LevelAVX512, the Go ones LevelAVX2) the
// tile's weight rows go four at a time through that kernel, whatever the
// row length, with the same accumulators and so the same bits. r0 < r1.
func matMulFloatAVX2(t gguf.TensorType, k4 f16x4Kernel, dst []float32, ldDst int, w []byte, rowBytes, n int, a []byte, aRowBytes, m int, r0, r1 int) int {
	np := n &^ 31
	es := 4 // element size
	if t == gguf.TypeF16 {
		es = 2
	}
	if m < floatBatchRows || np == 0 || n*es > rowBytes || n*es > aRowBytes {
		return 0
	}
	groups := m / floatBatchRows
	// The kernels read the rows through raw pointers: check once that the
	// last weight row and activation row are in range.
	_ = w[(r1-1)*rowBytes : (r1-1)*rowBytes+n*es]
	_ = a[(groups*floatBatchRows-1)*aRowBytes : (groups*floatBatchRows-1)*aRowBytes+n*es]
	if np <= floatChunk && k4 == f16x4None {
		matMulFloatWholeAVX2(t, dst, ldDst, w, rowBytes, n, a, aRowBytes, groups, r0, r1)
		return groups * floatBatchRows
	}
	var acc [maxFloatTile][floatBatchRows * 32]float32
	var out [floatBatchRows]float32
	var wide [floatBatchRows][floatChunk]float32 // the widened activation chunks (f16x4Wide*)
	tile := min(maxFloatTile, max(maxFloatTile/2, matMulTileBytes/rowBytes))
	for t0 := r0; t0 < r1; t0 += tile {
		t1 := min(t0+tile, r1)
		for g := 0; g < groups; g++ {
			i0 := g * floatBatchRows
			clear(acc[:t1-t0])
			for k0 := 0; k0 < np; k0 += floatChunk {
				kn := min(floatChunk, np-k0)
				if t == gguf.TypeF32 {
					y := &asF32(a[i0*aRowBytes+4*k0:])[0]
					for r := t0; r < t1; r++ {
						x := asF32(w[r*rowBytes+4*k0 : r*rowBytes+4*(k0+kn)])
						dotF32x3AVX2(&x[0], y, aRowBytes, kn, &acc[r-t0][0])
					}
					continue
				}
				y := &asU16(a[i0*aRowBytes+2*k0:])[0]
				if k4 == f16x4WideAVX512 || k4 == f16x4WideGo {
					for c := 0; c < floatBatchRows; c++ {
						yc := asU16(a[(i0+c)*aRowBytes+2*k0 : (i0+c)*aRowBytes+2*(k0+kn)])
						if k4 == f16x4WideAVX512 {
							widenF16AVX512(&wide[c][0], &yc[0], kn)
						} else {
							for i, h := range yc {
								wide[c][i] = FP16ToFP32(h)
							}
						}
					}
				}
				r := t0
				for ; k4 != f16x4None && r+4 <= t1; r += 4 {
					x := asU16(w[r*rowBytes+2*k0 : (r+3)*rowBytes+2*(k0+kn)])
					switch k4 {
					case f16x4AVX512:
						dotF16x4x3AVX512(&x[0], rowBytes, y, aRowBytes, kn, &acc[r-t0][0])
					case f16x4WideAVX512:
						dotF16x4x3WAVX512(&x[0], rowBytes, &wide[0][0], 4*floatChunk, kn, &acc[r-t0][0])
					case f16x4WideGo:
						dotF16WGo(4, floatBatchRows, &x[0], rowBytes, &wide[0][0], 4*floatChunk, kn, &acc[r-t0][0])
					default:
						dotF16x4x3Go(&x[0], rowBytes, y, aRowBytes, kn, &acc[r-t0][0])
					}
				}
				for ; r < t1; r++ {
					x := asU16(w[r*rowBytes+2*k0 : r*rowBytes+2*(k0+kn)])
					dotF16x3AVX2(&x[0], y, aRowBytes, kn, &acc[r-t0][0])
				}
			}
			for r := t0; r < t1; r++ {
				reduceF32x3AVX2(&acc[r-t0][0], &out[0])
				floatTails(t, dst, ldDst, w, rowBytes, n, a, aRowBytes, i0, r, out[:])
			}
		}
	}
	return groups * floatBatchRows
}

// f16x4Kernel names the kernel matMulFloatAVX2 runs on four F16 weight
// rows at a time: none (one at a time with dotF16x3AVX2),
// dotF16x4x3AVX512, dotF16x4x3WAVX512 (the three activation rows' chunk
// widened once into float32 first, with widenF16AVX512: fewer conversions
// in the inner loop; which of the two is faster is for BenchmarkF16Levels
// on AVX-512 hardware to say), or their Go models (for tests on CPUs
// without AVX-512). A name, not a func value, so the calls stay direct and
// the accumulators on the stack.
type f16x4Kernel uint8

const (
	f16x4None f16x4Kernel = iota
	f16x4AVX512
	f16x4Go
	f16x4WideAVX512
	f16x4WideGo
)

// f16x4Default is the four-row kernel MatMul runs F16 weights through at
// LevelAVX512: the widened-activation one, whose loop needs 8 conversions
// per 24 FMAs instead of 14 (the widening costs 3 a chunk per tile row
// group, a few per cent). On the device host's Xeon (BenchmarkF16Levels,
// 128 activation rows, 2 threads) it ran 37.2-45.9 GMAC/s against
// f16x4AVX512's 34.7-40.1 and the AVX2 kernel's 18.8-24.3
// (docs/benchmarks.md).
const f16x4Default = f16x4WideAVX512

// dotF16x4x3Go is dotF16x4x3AVX512's contract with dotF16x3AVX2 run on
// each of the four weight rows (so it needs LevelAVX2): matMulFloatAVX2
// runs it in tests only, so that its four-row path can be checked on CPUs
// without AVX-512; TestDotF16x4x3AVX512 checks the kernel against the same
// calls.
func dotF16x4x3Go(x *uint16, xStride int, y *uint16, yStride, n int, acc *float32) {
	xs := unsafe.Slice(x, (3*xStride)/2+n)
	as := unsafe.Slice(acc, 4*floatBatchRows*32)
	for k := 0; k < 4; k++ {
		dotF16x3AVX2(&xs[k*xStride/2], y, yStride, n, &as[k*floatBatchRows*32])
	}
}

// matMulFloatWholeAVX2 is matMulFloatAVX2 for rows of at most floatChunk
// elements (rounded down to 32): one kernel call per weight row and group
// of activation rows accumulates, reduces and stores the sums, with no
// accumulators in memory.
func matMulFloatWholeAVX2(t gguf.TensorType, dst []float32, ldDst int, w []byte, rowBytes, n int, a []byte, aRowBytes, groups int, r0, r1 int) {
	np := n &^ 31
	var out [floatBatchRows]float32
	tile := min(maxFloatTile, max(maxFloatTile/2, matMulTileBytes/rowBytes))
	for t0 := r0; t0 < r1; t0 += tile {
		t1 := min(t0+tile, r1)
		for g := 0; g < groups; g++ {
			i0 := g * floatBatchRows
			for r := t0; r < t1; r++ {
				if t == gguf.TypeF32 {
					dotF32x3FullAVX2(&asF32(w[r*rowBytes:])[0], &asF32(a[i0*aRowBytes:])[0], aRowBytes, np, &out[0])
				} else {
					dotF16x3FullAVX2(&asU16(w[r*rowBytes:])[0], &asU16(a[i0*aRowBytes:])[0], aRowBytes, np, &out[0])
				}
				floatTails(t, dst, ldDst, w, rowBytes, n, a, aRowBytes, i0, r, out[:])
			}
		}
	}
}

// floatTails adds the products past the last whole 32-element block to the
// reduced sums out of weight row r with activation rows i0.. (one a sum,
// as ggml does) and stores them in dst; with no such products the sums are
// final.
func floatTails(t gguf.TensorType, dst []float32, ldDst int, w []byte, rowBytes, n int, a []byte, aRowBytes, i0, r int, out []float32) {
	np := n &^ 31
	for j, v := range out {
		if np < n {
			ar := a[(i0+j)*aRowBytes:]
			if t == gguf.TypeF32 {
				v = f32TailAVX2(v, asF32(w[r*rowBytes:r*rowBytes+4*n]), asF32(ar[:4*n]), np)
			} else {
				v = f16TailAVX2(v, asU16(w[r*rowBytes:r*rowBytes+2*n]), asU16(ar[:2*n]), np)
			}
		}
		dst[(i0+j)*ldDst+r] = v
	}
}
