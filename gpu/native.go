package gpu

/*
#include <stdint.h>
#include <stdlib.h>

// The per-token calls go to wgpu-native's C API directly: the Go binding
// wraps each of them with a Go closure and a cgo.Handle for its error
// callback (33 heap allocations per decoded token). Errors raised here reach
// the backend's error scopes (errscope.go) instead. Handles are opaque
// pointers; the prototypes match webgpu.h.
typedef void *hearthRef;
hearthRef wgpuDeviceCreateCommandEncoder(hearthRef device, void const *descriptor);
hearthRef wgpuCommandEncoderBeginComputePass(hearthRef encoder, void const *descriptor);
void wgpuComputePassEncoderSetPipeline(hearthRef pass, hearthRef pipeline);
void wgpuComputePassEncoderSetBindGroup(hearthRef pass, uint32_t index, hearthRef group, size_t n, uint32_t const *offsets);
void wgpuComputePassEncoderDispatchWorkgroups(hearthRef pass, uint32_t x, uint32_t y, uint32_t z);
void wgpuComputePassEncoderEnd(hearthRef pass);
void wgpuComputePassEncoderRelease(hearthRef pass);
void wgpuCommandEncoderCopyBufferToBuffer(hearthRef encoder, hearthRef src, uint64_t srcOffset, hearthRef dst, uint64_t dstOffset, uint64_t size);
hearthRef wgpuCommandEncoderFinish(hearthRef encoder, void const *descriptor);
void wgpuCommandEncoderRelease(hearthRef encoder);
void wgpuCommandBufferRelease(hearthRef commandBuffer);
uint64_t wgpuQueueSubmitForIndex(hearthRef queue, size_t n, hearthRef const *commands);
uint32_t wgpuDevicePoll(hearthRef device, uint32_t wait, void const *wrappedSubmissionIndex);
void wgpuQueueWriteBuffer(hearthRef queue, hearthRef buffer, uint64_t offset, void const *data, size_t size);
void wgpuBufferUnmap(hearthRef buffer);

// hearthDispatch is one dispatch of a program (runtime.go's dispatch with
// native handles).
typedef struct {
	hearthRef pipe;
	hearthRef bg;
	uint32_t x, y;
	uint32_t tokX, tokY, tokTile, pad;
} hearthDispatch;

// hearth_record records n dispatches for nTok tokens in one compute pass,
// then up to two buffer copies (size 0: none), and returns the finished
// command buffer.
static hearthRef hearth_record(hearthRef device, hearthDispatch const *ds, size_t n, uint32_t nTok,
		hearthRef src0, hearthRef dst0, uint64_t size0, hearthRef src1, hearthRef dst1, uint64_t size1) {
	hearthRef enc = wgpuDeviceCreateCommandEncoder(device, 0);
	if (enc == 0) {
		return 0;
	}
	hearthRef pass = wgpuCommandEncoderBeginComputePass(enc, 0);
	if (pass != 0) {
		hearthRef last = 0;
		for (size_t i = 0; i < n; i++) {
			hearthDispatch const *d = &ds[i];
			uint32_t x = d->x, y = d->y;
			if (d->tokX) {
				x *= nTok;
			}
			if (d->tokY) {
				y *= nTok;
			}
			if (d->tokTile) {
				y *= (nTok + d->tokTile - 1) / d->tokTile;
			}
			if (d->pipe != last) { // consecutive products of one kind share a pipeline
				wgpuComputePassEncoderSetPipeline(pass, d->pipe);
				last = d->pipe;
			}
			wgpuComputePassEncoderSetBindGroup(pass, 0, d->bg, 0, 0);
			wgpuComputePassEncoderDispatchWorkgroups(pass, x, y, 1);
		}
		wgpuComputePassEncoderEnd(pass);
		wgpuComputePassEncoderRelease(pass);
	}
	if (size0) {
		wgpuCommandEncoderCopyBufferToBuffer(enc, src0, 0, dst0, 0, size0);
	}
	if (size1) {
		wgpuCommandEncoderCopyBufferToBuffer(enc, src1, 0, dst1, 0, size1);
	}
	hearthRef cb = wgpuCommandEncoderFinish(enc, 0);
	wgpuCommandEncoderRelease(enc);
	return cb;
}

static uint64_t hearth_submit(hearthRef queue, hearthRef cb) {
	uint64_t idx = wgpuQueueSubmitForIndex(queue, 1, &cb);
	wgpuCommandBufferRelease(cb);
	return idx;
}

// WGPUWrappedSubmissionIndex of wgpu.h.
typedef struct {
	hearthRef queue;
	uint64_t index;
} hearthSubmission;

// hearth_wait blocks until the submission idx of queue has completed and
// runs the callbacks (buffer maps) that became ready.
static void hearth_wait(hearthRef device, hearthRef queue, uint64_t idx) {
	hearthSubmission s = {queue, idx};
	wgpuDevicePoll(device, 1, &s);
}

static void hearth_release_cb(hearthRef cb) { wgpuCommandBufferRelease(cb); }

static void hearth_write(hearthRef queue, hearthRef buffer, void const *data, size_t size) {
	wgpuQueueWriteBuffer(queue, buffer, 0, data, size);
}

static void hearth_unmap(hearthRef buffer) { wgpuBufferUnmap(buffer); }
*/
import "C"

import (
	"errors"
	"fmt"
	"time"
	"unsafe"

	"github.com/cogentcore/webgpu/wgpu"
)

// The binding keeps each object's native handle unexported; these read it
// from the struct layouts of github.com/cogentcore/webgpu v0.23.0:
// Device{ref}, Queue{deviceRef, ref}, Buffer{deviceRef, ref},
// ComputePipeline{ref}, BindGroup{ref}.
func deviceRef(d *wgpu.Device) C.hearthRef {
	return C.hearthRef(*(*unsafe.Pointer)(unsafe.Pointer(d)))
}
func queueRef(q *wgpu.Queue) C.hearthRef {
	return C.hearthRef((*[2]unsafe.Pointer)(unsafe.Pointer(q))[1])
}
func bufferRef(b *wgpu.Buffer) C.hearthRef {
	return C.hearthRef((*[2]unsafe.Pointer)(unsafe.Pointer(b))[1])
}
func pipelineRef(p *wgpu.ComputePipeline) C.hearthRef {
	return C.hearthRef(*(*unsafe.Pointer)(unsafe.Pointer(p)))
}
func bindGroupRef(g *wgpu.BindGroup) C.hearthRef {
	return C.hearthRef(*(*unsafe.Pointer)(unsafe.Pointer(g)))
}

// cmdBuf is a finished native command buffer (nil: none).
type cmdBuf = C.hearthRef

// recorder records and submits programs through the C API without Go
// allocations. Its dispatch array lives in C memory and grows to the
// longest program once.
type recorder struct {
	dev   C.hearthRef
	queue C.hearthRef
	ds    *C.hearthDispatch
	cap   int
	// key, n: the program the array holds (programs are built once at load
	// and never change, so a greedy decode converts its program once).
	key *dispatch
	n   int
}

func newRecorder(d *device) recorder {
	return recorder{dev: deviceRef(d.dev), queue: queueRef(d.queue)}
}

// copySpec is one buffer-to-buffer copy after the pass (size 0: none).
type copySpec struct {
	src, dst *wgpu.Buffer
	size     uint64
}

var errRecord = errors.New("gpu: recording a command buffer failed")

// record records ds for nTok tokens and the copies c0, c1 into a command
// buffer. Validation errors surface at the enclosing error scope's pop.
func (r *recorder) record(ds []dispatch, nTok int, c0, c1 copySpec) (cmdBuf, error) {
	if len(ds) > r.cap {
		n := max(len(ds), 2*r.cap)
		p := C.realloc(unsafe.Pointer(r.ds), C.size_t(n)*C.sizeof_hearthDispatch)
		if p == nil {
			return nil, errRecord
		}
		r.ds, r.cap, r.key = (*C.hearthDispatch)(p), n, nil
	}
	if len(ds) > 0 && (r.key != &ds[0] || r.n != len(ds)) {
		r.fill(ds)
	}
	var s0, d0, s1, d1 C.hearthRef
	if c0.size > 0 {
		s0, d0 = bufferRef(c0.src), bufferRef(c0.dst)
	}
	if c1.size > 0 {
		s1, d1 = bufferRef(c1.src), bufferRef(c1.dst)
	}
	cb := C.hearth_record(r.dev, r.ds, C.size_t(len(ds)), C.uint32_t(nTok),
		s0, d0, C.uint64_t(c0.size), s1, d1, C.uint64_t(c1.size))
	if cb == nil {
		return nil, errRecord
	}
	return cb, nil
}

// fill converts ds into the C array (len(ds) <= r.cap).
func (r *recorder) fill(ds []dispatch) {
	arr := unsafe.Slice(r.ds, r.cap)
	for i := range ds {
		d := &ds[i]
		arr[i] = C.hearthDispatch{pipe: pipelineRef(d.pipe), bg: bindGroupRef(d.bg),
			x: C.uint32_t(d.x), y: C.uint32_t(d.y), tokTile: C.uint32_t(d.tokTile)}
		if d.tokX {
			arr[i].tokX = 1
		}
		if d.tokY {
			arr[i].tokY = 1
		}
	}
	r.key, r.n = &ds[0], len(ds)
}

// submission identifies a submitted command buffer (see recorder.wait).
type submission = C.uint64_t

// submit submits cb, releases it and returns its submission.
func (r *recorder) submit(cb cmdBuf) submission { return C.hearth_submit(r.queue, cb) }

// wait blocks until submission s has completed on the GPU (later
// submissions may still run) and runs the callbacks that became ready.
func (r *recorder) wait(s submission) { C.hearth_wait(r.dev, r.queue, s) }

// release drops a command buffer that was never submitted.
func (r *recorder) release(cb cmdBuf) {
	if cb != nil {
		C.hearth_release_cb(cb)
	}
}

// write copies data into the start of buf (through the queue).
func (r *recorder) write(buf *wgpu.Buffer, data []byte) {
	if len(data) > 0 {
		C.hearth_write(r.queue, bufferRef(buf), unsafe.Pointer(&data[0]), C.size_t(len(data)))
	}
}

// readback maps the MapRead buffer buf, hands its first n bytes to f and
// unmaps it; what names the caller in errors. It waits for all submitted
// work.
func (d *device) readback(what string, buf *wgpu.Buffer, n int, f func([]byte)) error {
	return d.readbackAfter(what, buf, n, pending{}, f)
}

// pending is a submission to wait for; the zero value stands for all
// submitted work.
type pending struct {
	r *recorder
	s submission
}

// readbackAfter is readback that waits only for the submission p, which
// must be the last to write buf: work submitted behind p keeps the GPU busy
// meanwhile.
func (d *device) readbackAfter(what string, buf *wgpu.Buffer, n int, p pending, f func([]byte)) error {
	if err := d.scope.mapRead(buf, n); err != nil {
		return err
	}
	deadline := time.Now().Add(time.Minute)
	for {
		if p.r != nil {
			p.r.wait(p.s)
			p.r = nil // a map not done by then: wait for everything
		} else {
			d.dev.Poll(true, nil)
		}
		done, st := d.scope.mapped()
		if done {
			if st != wgpu.BufferMapAsyncStatusSuccess {
				return fmt.Errorf("gpu: %s: map failed: %s", what, st)
			}
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("gpu: %s: timed out", what)
		}
	}
	f(buf.GetMappedRange(0, uint(n)))
	C.hearth_unmap(bufferRef(buf))
	return nil
}

// free releases the C memory of the dispatch array.
func (r *recorder) free() {
	if r.ds != nil {
		C.free(unsafe.Pointer(r.ds))
		r.ds, r.cap = nil, 0
	}
}
