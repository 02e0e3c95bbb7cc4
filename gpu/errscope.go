package gpu

/*
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

// Minimal prototypes of the two wgpu-native entry points the Go binding does
// not expose. The symbols come from the wgpu-native static library that
// github.com/cogentcore/webgpu links in; handles are opaque pointers and
// enums are 32-bit, so these declarations match the C ABI of webgpu.h.
typedef void *hearthDevice;
typedef void (*hearthErrorCallback)(uint32_t type, char const *message, void *userdata);
void wgpuDevicePushErrorScope(hearthDevice device, uint32_t filter);
void wgpuDevicePopErrorScope(hearthDevice device, hearthErrorCallback callback, void *userdata);

typedef struct {
	uint32_t type;
	char message[512];
} hearthError;

static void hearth_error_cb(uint32_t type, char const *message, void *userdata) {
	hearthError *e = (hearthError *)userdata;
	if (type == 0 || e->type != 0) {
		return;
	}
	e->type = type;
	if (message != NULL) {
		strncpy(e->message, message, sizeof(e->message) - 1);
		e->message[sizeof(e->message) - 1] = 0;
	}
}

static void hearth_push_scopes(hearthDevice d) {
	// wgpu-native rejects the Internal filter; internal errors reach the
	// device-lost path instead.
	wgpuDevicePushErrorScope(d, 1); // out of memory
	wgpuDevicePushErrorScope(d, 0); // validation
}

static void hearth_pop_scopes(hearthDevice d, hearthError *e) {
	e->type = 0;
	e->message[0] = 0;
	wgpuDevicePopErrorScope(d, hearth_error_cb, e);
	wgpuDevicePopErrorScope(d, hearth_error_cb, e);
}
// Buffer mapping with the status written to C memory: the binding's
// MapAsync hands C a pointer to a Go variable that nothing keeps alive
// until the callback runs.
typedef void *hearthBuffer;
typedef void (*hearthMapCallback)(uint32_t status, void *userdata);
void wgpuBufferMapAsync(hearthBuffer buffer, uint32_t mode, size_t offset, size_t size, hearthMapCallback callback, void *userdata);

static void hearth_map_cb(uint32_t status, void *userdata) {
	int32_t *st = (int32_t *)userdata;
	*st = (int32_t)status;
}

static void hearth_map_read(hearthDevice d, hearthBuffer b, size_t size, int32_t *status, hearthError *e) {
	*status = -1;
	wgpuDevicePushErrorScope(d, 0);
	wgpuBufferMapAsync(b, 1, 0, size, hearth_map_cb, status);
	e->type = 0;
	e->message[0] = 0;
	wgpuDevicePopErrorScope(d, hearth_error_cb, e);
}
*/
import "C"

import (
	"fmt"
	"unsafe"

	"github.com/cogentcore/webgpu/wgpu"
)

// errorScope turns WebGPU validation and out-of-memory errors
// raised between push and pop into a Go error. wgpu-native resolves popped
// scopes synchronously, so pop returns the error of the work just recorded.
type errorScope struct {
	dev C.hearthDevice
	e   *C.hearthError // C memory: written by the callback, reused every pop
	st  *C.int32_t     // C memory: map status, -1 while pending
}

// newErrorScope prepares scopes for dev. The *wgpu.Device holds the native
// handle as its only field; the binding exposes no accessor for it.
func newErrorScope(dev *wgpu.Device) *errorScope {
	ref := *(*unsafe.Pointer)(unsafe.Pointer(dev))
	e := (*C.hearthError)(C.calloc(1, C.sizeof_hearthError))
	st := (*C.int32_t)(C.calloc(1, 4))
	return &errorScope{dev: C.hearthDevice(ref), e: e, st: st}
}

func (s *errorScope) push() { C.hearth_push_scopes(s.dev) }

// pop closes the two scopes pushed by push and reports the first error.
func (s *errorScope) pop(what string) error {
	C.hearth_pop_scopes(s.dev, s.e)
	if s.e._type == 0 {
		return nil
	}
	kind := "error"
	switch s.e._type {
	case 1:
		kind = "validation error"
	case 2:
		kind = "out of memory"
	case 3:
		kind = "internal error"
	case 5:
		kind = "device lost"
	}
	return fmt.Errorf("gpu: %s: %s: %s", what, kind, C.GoString(&s.e.message[0]))
}

func (s *errorScope) free() {
	if s.e != nil {
		C.free(unsafe.Pointer(s.e))
		C.free(unsafe.Pointer(s.st))
		s.e, s.st = nil, nil
	}
}

// mapRead starts mapping the first size bytes of buf for reading; mapped
// reports the outcome once poll has run: done, and the wgpu status.
func (s *errorScope) mapRead(buf *wgpu.Buffer, size int) error {
	ref := (*[2]unsafe.Pointer)(unsafe.Pointer(buf))[1] // Buffer{deviceRef, ref}
	C.hearth_map_read(s.dev, C.hearthBuffer(ref), C.size_t(size), s.st, s.e)
	if s.e._type != 0 {
		return fmt.Errorf("gpu: map: %s", C.GoString(&s.e.message[0]))
	}
	return nil
}

func (s *errorScope) mapped() (done bool, status wgpu.BufferMapAsyncStatus) {
	v := int32(*s.st)
	if v < 0 {
		return false, 0
	}
	return true, wgpu.BufferMapAsyncStatus(v)
}
