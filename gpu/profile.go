package gpu

/*
#include <stdint.h>

// The Go binding's BeginComputePass takes no timestamp writes, so a timed
// pass is begun here. Layouts follow webgpu.h (WGPUComputePassDescriptor,
// WGPUComputePassTimestampWrites); handles are opaque pointers.
typedef void *hearthEncoder;
typedef void *hearthPass;
typedef void *hearthQuerySet;
typedef struct {
	void const *nextInChain;
	char const *label;
	void const *timestampWrites;
} hearthPassDescriptor;
typedef struct {
	hearthQuerySet querySet;
	uint32_t beginningOfPassWriteIndex;
	uint32_t endOfPassWriteIndex;
} hearthTimestampWrites;
hearthPass wgpuCommandEncoderBeginComputePass(hearthEncoder enc, hearthPassDescriptor const *desc);
void wgpuDeviceReference(void *device);

static hearthPass hearth_begin_timed_pass(void *device, hearthEncoder enc, hearthQuerySet qs, uint32_t begin, uint32_t end) {
	hearthTimestampWrites ts = {qs, begin, end};
	hearthPassDescriptor d = {0, 0, &ts};
	hearthPass p = wgpuCommandEncoderBeginComputePass(enc, &d);
	if (p != 0) {
		wgpuDeviceReference(device); // released with the pass, as the binding does
	}
	return p;
}
*/
import "C"

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
	"unsafe"

	"github.com/cogentcore/webgpu/wgpu"
)

// KernelTime is one dispatch's label and its GPU time, from timestamps
// written at the start and end of a compute pass holding only it.
type KernelTime struct {
	Label string
	GPU   time.Duration
}

// ErrNoTimestamps reports that Profile cannot time kernels: the Backend was
// built without Options.Profile, or the adapter offers no timestamp queries.
var ErrNoTimestamps = errors.New("gpu: profile: no timestamp queries (set Options.Profile; the adapter must support them)")

// Profile evaluates tokens at pos like Eval (it writes the KV cache at
// pos..pos+len(tokens)-1 and computes the last token's argmax), but records
// every dispatch in a compute pass of its own, bracketed by GPU timestamps,
// and returns each dispatch's GPU time in program order. Splitting the
// passes adds the barriers between dispatches that one pass has anyway, so
// the times add up to about the GPU's share of an Eval. Timestamps are
// taken as nanoseconds (Vulkan's timestampPeriod is 1 on NVIDIA and
// lavapipe). Software adapters run the program as one submission here, so
// keep batches small on them.
func (b *Backend) Profile(tokens []int32, pos int) ([]KernelTime, error) {
	if b.d == nil || !b.d.timestamps {
		return nil, ErrNoTimestamps
	}
	n := len(tokens)
	if n == 0 || n > maxBatch || pos < 0 || pos+n > b.nCtx {
		return nil, fmt.Errorf("gpu: profile: %d tokens at position %d do not fit (context %d, batch %d)", n, pos, b.nCtx, maxBatch)
	}
	b.dropAhead() // both assume the last Eval's state
	ds := b.decode
	if n > 1 {
		ds = b.batch
	}
	nq := 2 * len(ds)
	d := b.d
	qs, err := d.dev.CreateQuerySet(&wgpu.QuerySetDescriptor{Label: "profile", Type: wgpu.QueryTypeTimestamp, Count: uint32(nq)})
	if err != nil {
		return nil, fmt.Errorf("gpu: profile: %w", err)
	}
	defer qs.Release()
	resolve, err := d.dev.CreateBuffer(&wgpu.BufferDescriptor{Label: "profile resolve", Size: uint64(8 * nq),
		Usage: wgpu.BufferUsageQueryResolve | wgpu.BufferUsageCopySrc})
	if err != nil {
		return nil, fmt.Errorf("gpu: profile: %w", err)
	}
	defer resolve.Release()
	defer resolve.Destroy()
	read, err := d2hBuffer(&resources{d: d}, "profile read", 8*nq)
	if err != nil {
		return nil, fmt.Errorf("gpu: profile: %w", err)
	}
	defer read.Release()
	defer read.Destroy()

	d.scope.push()
	err = func() error {
		b.writeStep(tokens, pos)
		enc, err := d.dev.CreateCommandEncoder(nil)
		if err != nil {
			return err
		}
		defer enc.Release()
		encRef := (*[2]unsafe.Pointer)(unsafe.Pointer(enc)) // CommandEncoder{deviceRef, ref}
		qsRef := *(*unsafe.Pointer)(unsafe.Pointer(qs))     // QuerySet{ref}
		for i := range ds {
			raw := C.hearth_begin_timed_pass(encRef[0], C.hearthEncoder(encRef[1]), C.hearthQuerySet(qsRef), C.uint32_t(2*i), C.uint32_t(2*i+1))
			if raw == nil {
				return fmt.Errorf("begin pass %d (%s) failed", i, ds[i].label)
			}
			pass := new(wgpu.ComputePassEncoder)
			pr := (*[2]unsafe.Pointer)(unsafe.Pointer(pass)) // ComputePassEncoder{deviceRef, ref}
			pr[0], pr[1] = encRef[0], unsafe.Pointer(raw)
			encode(pass, ds[i:i+1], n)
			err := pass.End()
			pass.Release()
			if err != nil {
				return err
			}
		}
		if err := enc.ResolveQuerySet(qs, 0, uint32(nq), resolve, 0); err != nil {
			return err
		}
		if err := enc.CopyBufferToBuffer(resolve, 0, read, 0, uint64(8*nq)); err != nil {
			return err
		}
		cb, err := enc.Finish(nil)
		if err != nil {
			return err
		}
		d.queue.Submit(cb)
		cb.Release()
		return nil
	}()
	if perr := d.scope.pop("profile"); perr != nil {
		return nil, perr
	}
	if err != nil {
		return nil, fmt.Errorf("gpu: profile: %w", err)
	}
	out := make([]KernelTime, len(ds))
	err = d.readback("profile", read, 8*nq, func(p []byte) {
		for i := range ds {
			t0 := binary.LittleEndian.Uint64(p[16*i:])
			t1 := binary.LittleEndian.Uint64(p[16*i+8:])
			out[i] = KernelTime{Label: ds[i].label, GPU: time.Duration(t1 - t0)}
			if t1 < t0 {
				out[i].GPU = 0
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// KernelClass is the total GPU time of the dispatches sharing a label once
// the layer part ("blk.N.") is removed, wherever it stands.
type KernelClass struct {
	Class string
	Count int
	GPU   time.Duration
}

// labelClass removes the first "blk.N." from a dispatch label.
func labelClass(l string) string {
	i := strings.Index(l, "blk.")
	if i < 0 {
		return l
	}
	j := i + len("blk.")
	for j < len(l) && l[j] >= '0' && l[j] <= '9' {
		j++
	}
	if j == i+len("blk.") || j >= len(l) || l[j] != '.' {
		return l
	}
	return l[:i] + l[j+1:]
}

// ByClass sums ts per label class, largest total first.
func ByClass(ts []KernelTime) []KernelClass {
	idx := map[string]int{}
	var out []KernelClass
	for _, t := range ts {
		c := labelClass(t.Label)
		j, ok := idx[c]
		if !ok {
			j = len(out)
			idx[c] = j
			out = append(out, KernelClass{Class: c})
		}
		out[j].Count++
		out[j].GPU += t.GPU
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].GPU > out[b].GPU })
	return out
}
