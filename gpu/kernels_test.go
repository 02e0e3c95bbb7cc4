package gpu

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPreprocess(t *testing.T) {
	src := "a\n//#if X\nb\n//#if Y\nc\n//#else\nd\n//#endif\n//#else\ne\n//#endif\nf"
	tests := []struct {
		defs map[string]bool
		want string
	}{
		{map[string]bool{}, "a\ne\nf\n"},
		{map[string]bool{"X": true}, "a\nb\nd\nf\n"},
		{map[string]bool{"X": true, "Y": true}, "a\nb\nc\nf\n"},
		{map[string]bool{"Y": true}, "a\ne\nf\n"},
	}
	for _, tc := range tests {
		require.Equal(t, tc.want, preprocess(src, tc.defs))
	}
}
