package quant

import (
	"errors"
	"os"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hearthllm/hearth/gguf"
)

func TestChooseKernel(t *testing.T) {
	tests := []struct {
		env     string
		hw      Level
		want    Level
		wantErr string
	}{
		{"", LevelGeneric, LevelGeneric, ""},
		{"", LevelAVX2, LevelAVX2, ""},
		{"", LevelAVX512, LevelAVX512, ""},
		{"auto", LevelAVX512, LevelAVX512, ""},
		{"auto", LevelAVX2, LevelAVX2, ""},
		{"generic", LevelAVX2, LevelGeneric, ""},
		{"generic", LevelGeneric, LevelGeneric, ""},
		{"avx2", LevelAVX2, LevelAVX2, ""},
		{"avx2", LevelAVX512, LevelAVX2, ""},
		{"avx2", LevelGeneric, LevelGeneric, "HEARTH_CPU=avx2: this CPU or build lacks it (best here: generic)"},
		{"avx512", LevelAVX2, LevelGeneric, "HEARTH_CPU=avx512: this CPU or build lacks AVX-512 with VNNI (AVX512F/BW/VL, AVX512_VNNI; best here: avx2)"},
		{"avx512", LevelGeneric, LevelGeneric, "HEARTH_CPU=avx512: this CPU or build lacks AVX-512 with VNNI (AVX512F/BW/VL, AVX512_VNNI; best here: generic)"},
		{"avx512", LevelAVX512, LevelAVX512, ""},
		{"generic", LevelAVX512, LevelGeneric, ""},
		{"AVX2", LevelAVX2, LevelGeneric, `HEARTH_CPU="AVX2": want generic, avx2, avx512 or auto`},
		{"sse", LevelAVX2, LevelGeneric, `HEARTH_CPU="sse"`},
	}
	for _, tt := range tests {
		t.Run(tt.env+"/"+tt.hw.String(), func(t *testing.T) {
			c := chooseKernel(tt.env, tt.hw, false)
			assert.Equal(t, tt.want, c.level)
			if tt.wantErr == "" {
				require.NoError(t, c.err)
				assert.True(t, c.gemv512, "full-width AVX-512: the one-token kernels at the level chosen")
				return
			}
			require.ErrorIs(t, c.err, ErrKernelLevel)
			assert.Contains(t, c.err.Error(), tt.wantErr)
		})
	}
}

// TestChooseKernelHalfWidth checks the one-token choice on CPUs that run
// 512-bit vectors in halves: AVX2 one-token kernels unless HEARTH_CPU asks
// for avx512.
func TestChooseKernelHalfWidth(t *testing.T) {
	for _, tt := range []struct {
		env     string
		level   Level
		gemv512 bool
		gemv    Level
	}{
		{"", LevelAVX512, false, LevelAVX2},
		{"auto", LevelAVX512, false, LevelAVX2},
		{"avx512", LevelAVX512, true, LevelAVX512},
		{"avx2", LevelAVX2, true, LevelAVX2},
	} {
		c := chooseKernel(tt.env, LevelAVX512, true)
		require.NoError(t, c.err, tt.env)
		assert.Equal(t, tt.level, c.level, tt.env)
		assert.Equal(t, tt.gemv512, c.gemv512, tt.env)
	}
}

func TestKernelLevelMatchesHardware(t *testing.T) {
	lvl, err := KernelLevel()
	env := os.Getenv("HEARTH_CPU")
	want := chooseKernel(env, hardwareLevel(), halfWidthAVX512())
	assert.Equal(t, want.level, lvl)
	assert.Equal(t, want.err, err)
	assert.Equal(t, lvl >= LevelAVX2, useAVX2)
	assert.Equal(t, lvl >= LevelAVX512, useAVX512)
	assert.Equal(t, lvl >= LevelAVX512 && want.gemv512, useAVX512Gemv)
	t.Logf("kernel level %s, one-token AVX-512 kernels %v (HEARTH_CPU=%q, 512-bit vectors in halves: %v)", lvl, useAVX512Gemv, env, halfWidthAVX512())
}

// TestHEARTHCPUEnv runs this test binary again with HEARTH_CPU set and
// checks what the child process reports (see TestKernelLevelChild).
func TestHEARTHCPUEnv(t *testing.T) {
	if os.Getenv("HEARTH_QUANT_CHILD") != "" {
		t.Skip("child process")
	}
	hw := hardwareLevel()
	tests := []struct {
		env  string
		want string // the child's verdict
	}{
		{"generic", "generic"},
		{"bogus", "error"},
	}
	if hw >= LevelAVX512 {
		tests = append(tests, struct{ env, want string }{"avx512", "avx512"}, struct{ env, want string }{"", "avx512"})
	} else {
		t.Logf("!!! this CPU lacks AVX-512 with VNNI (best %s): HEARTH_CPU=avx512 is only checked to fail here", hw)
		tests = append(tests, struct{ env, want string }{"avx512", "error"})
	}
	if hw >= LevelAVX2 {
		tests = append(tests, struct{ env, want string }{"avx2", "avx2"})
	} else {
		tests = append(tests, struct{ env, want string }{"avx2", "error"})
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestKernelLevelChild$", "-test.count=1")
			cmd.Env = append(os.Environ(), "HEARTH_CPU="+tt.env, "HEARTH_QUANT_CHILD="+tt.want)
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "child: %s", out)
		})
	}
}

// TestKernelLevelChild runs only in the child of TestHEARTHCPUEnv and checks
// the level the package chose at start-up and For's behaviour.
func TestKernelLevelChild(t *testing.T) {
	want := os.Getenv("HEARTH_QUANT_CHILD")
	if want == "" {
		t.Skip("runs only as TestHEARTHCPUEnv's child")
	}
	lvl, err := KernelLevel()
	tr, ferr := For(gguf.TypeQ4_0)
	if want == "error" {
		require.Error(t, err)
		require.True(t, errors.Is(err, ErrKernelLevel))
		require.ErrorIs(t, ferr, ErrKernelLevel)
		require.Nil(t, tr)
		return
	}
	require.NoError(t, err)
	require.NoError(t, ferr)
	require.Equal(t, want, lvl.String())
	require.Equal(t, want == "avx2" || want == "avx512", useAVX2)
	require.Equal(t, want == "avx512", useAVX512)
	if want == "avx512" && os.Getenv("HEARTH_CPU") == "avx512" {
		require.True(t, useAVX512Gemv, "HEARTH_CPU=avx512 runs the one-token AVX-512 kernels")
	}
}
