package quant_test

import (
	"fmt"

	"github.com/hearthllm/hearth/gguf"
	"github.com/hearthllm/hearth/quant"
)

// A weight matrix in Q4_0 times one activation row: the activation is first
// converted to the weight type's VecDotType (Q8_0 here), once per row, then
// every weight row is dotted with it.
func ExampleMatVec() {
	const rows, n = 2, 32
	tr, err := quant.For(gguf.TypeQ4_0)
	if err != nil {
		panic(err)
	}
	at, _ := quant.For(tr.VecDotType)

	x := make([]float32, rows*n)
	for i := range x {
		x[i] = float32(i%n) / n // both rows: 0, 1/32, ..., 31/32
	}
	w := make([]byte, tr.RowSize(rows*n))
	tr.Quantize(w, x)

	act := make([]float32, n)
	for i := range act {
		act[i] = 1
	}
	a := make([]byte, at.RowSize(n))
	tr.QuantizeActivation(a, act)

	dst := make([]float32, rows)
	quant.MatVec(tr, dst, w, tr.RowSize(n), n, a, 0, rows)
	fmt.Printf("%s x %s: %.2f %.2f (exact 15.50)\n", tr.Type, tr.VecDotType, dst[0], dst[1])
	// Output: Q4_0 x Q8_0: 15.50 15.50 (exact 15.50)
}
