// Command capi is Hearth's C ABI, built as a shared library:
//
//	go build -buildmode=c-shared -o build/libhearth.so ./capi
//
// The public header is capi/hearth.h (hand-written; build/libhearth.h is what
// cgo generates and is not the contract). Models are opaque 64-bit handles into
// a registry guarded by a mutex, so no Go pointer crosses the boundary. Errors
// are returned as status codes and recorded in C thread-local storage (see
// errors.c) so that hearth_last_error_message reads them on the caller's thread.
//
// Package-level state: the model registry (models) is the only mutable
// package-level variable. A c-shared library has no other place to keep the
// Go objects its C callers refer to by handle; it is guarded by its mutex.
package main

/*
#include "internal.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"unsafe"

	"github.com/hearthllm/hearth"
)

// main is required by -buildmode=c-shared and never runs.
func main() {}

// Status codes; they mirror the HEARTH_E_* enum in hearth.h.
const (
	statusOK              = 0
	statusBadModel        = 1
	statusNotFound        = 2
	statusContextOverflow = 3
	statusInvalidOption   = 4
	statusGPUUnavailable  = 5
	statusBusy            = 6
	statusClosed          = 7
	statusInternal        = 8
	statusIO              = 9
	statusInvalidHandle   = 10
)

// codeStatus maps the facade's stable error codes to ABI status codes.
var codeStatus = map[string]int{
	hearth.CodeBadModel:        statusBadModel,
	hearth.CodeNotFound:        statusNotFound,
	hearth.CodeContextOverflow: statusContextOverflow,
	hearth.CodeInvalidOption:   statusInvalidOption,
	hearth.CodeGPUUnavailable:  statusGPUUnavailable,
	hearth.CodeBusy:            statusBusy,
	hearth.CodeClosed:          statusClosed,
	hearth.CodeInternal:        statusInternal,
	hearth.CodeIO:              statusIO,
}

// apiError is an error with an ABI status.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func errorf(status int, format string, args ...any) error {
	return &apiError{status: status, msg: fmt.Sprintf(format, args...)}
}

// statusOf classifies err: an *apiError keeps its status, anything else maps
// through the facade's code.
func statusOf(err error) int {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.status
	}
	if s, ok := codeStatus[hearth.CodeOf(err)]; ok {
		return s
	}
	return statusInternal
}

// finish records err (or clears the last error) on the calling thread and
// returns the status to hand back to C.
func finish(err error) C.int {
	if err == nil {
		C.hearth_internal_set_error(0, nil, 0)
		return statusOK
	}
	st := statusOf(err)
	msg := err.Error()
	cmsg := C.CString(msg)
	C.hearth_internal_set_error(C.int(st), cmsg, C.size_t(len(msg)))
	C.free(unsafe.Pointer(cmsg))
	return C.int(st)
}

// guard turns a panic into HEARTH_E_INTERNAL; every exported function defers
// it with its named status result.
func guard(status *C.int) {
	if r := recover(); r != nil {
		buf := make([]byte, 4096)
		buf = buf[:runtime.Stack(buf, false)]
		*status = finish(errorf(statusInternal, "hearth: internal error (recovered panic): %v\n%s", r, buf))
	}
}

// cBytes copies b into malloc'd memory (NUL-terminated) the caller frees with hearth_free.
func cBytes(b []byte) *C.char {
	p := (*C.char)(C.malloc(C.size_t(len(b) + 1)))
	if len(b) > 0 {
		copy(unsafe.Slice((*byte)(unsafe.Pointer(p)), len(b)), b)
	}
	*(*byte)(unsafe.Add(unsafe.Pointer(p), len(b))) = 0
	return p
}

//export hearth_model_load
func hearth_model_load(path *C.char, optionsJSON *C.char, out *C.hearth_model) (status C.int) {
	defer guard(&status)
	if path == nil || out == nil {
		return finish(errorf(statusInvalidOption, "hearth: model path and out must not be NULL"))
	}
	*out = 0
	var opts []byte
	if optionsJSON != nil {
		opts = []byte(C.GoString(optionsJSON))
	}
	h, err := loadModel(C.GoString(path), opts)
	if err != nil {
		return finish(err)
	}
	*out = C.hearth_model(h)
	return finish(nil)
}

//export hearth_model_free
func hearth_model_free(h C.hearth_model) (status C.int) {
	defer guard(&status)
	return finish(freeModel(uint64(h)))
}

//export hearth_model_info
func hearth_model_info(h C.hearth_model, jsonOut **C.char) (status C.int) {
	defer guard(&status)
	if jsonOut == nil {
		return finish(errorf(statusInvalidOption, "hearth: json_out must not be NULL"))
	}
	*jsonOut = nil
	b, err := modelInfo(uint64(h))
	if err != nil {
		return finish(err)
	}
	*jsonOut = cBytes(b)
	return finish(nil)
}

//export hearth_tokenize
func hearth_tokenize(h C.hearth_model, text *C.char, n C.size_t, addSpecial, parseSpecial C.int, idsOut **C.int32_t, nOut *C.size_t) (status C.int) {
	defer guard(&status)
	if idsOut == nil || nOut == nil || (text == nil && n > 0) {
		return finish(errorf(statusInvalidOption, "hearth: tokenize: NULL argument"))
	}
	*idsOut, *nOut = nil, 0
	var s string
	if n > 0 {
		s = C.GoStringN(text, C.int(n))
	}
	ids, err := tokenize(uint64(h), s, addSpecial != 0, parseSpecial != 0)
	if err != nil {
		return finish(err)
	}
	if len(ids) > 0 {
		p := (*C.int32_t)(C.malloc(C.size_t(len(ids)) * 4))
		copy(unsafe.Slice((*int32)(unsafe.Pointer(p)), len(ids)), ids)
		*idsOut, *nOut = p, C.size_t(len(ids))
	}
	return finish(nil)
}

//export hearth_detokenize
func hearth_detokenize(h C.hearth_model, ids *C.int32_t, n C.size_t, textOut **C.char, lenOut *C.size_t) (status C.int) {
	defer guard(&status)
	if textOut == nil || (ids == nil && n > 0) {
		return finish(errorf(statusInvalidOption, "hearth: detokenize: NULL argument"))
	}
	*textOut = nil
	var in []int32
	if n > 0 {
		in = append([]int32(nil), unsafe.Slice((*int32)(unsafe.Pointer(ids)), int(n))...)
	}
	s, err := detokenize(uint64(h), in)
	if err != nil {
		return finish(err)
	}
	*textOut = cBytes([]byte(s))
	if lenOut != nil {
		*lenOut = C.size_t(len(s))
	}
	return finish(nil)
}

//export hearth_generate
func hearth_generate(h C.hearth_model, prompt *C.char, promptLen C.size_t, ids *C.int32_t, nIDs C.size_t,
	optionsJSON *C.char, onToken C.hearth_token_callback, user unsafe.Pointer, resultOut **C.char) (status C.int) {
	defer guard(&status)
	if resultOut == nil || (prompt == nil && ids == nil && nIDs > 0) {
		return finish(errorf(statusInvalidOption, "hearth: generate: NULL argument"))
	}
	*resultOut = nil
	req := genRequest{}
	if prompt != nil {
		req.text = C.GoStringN(prompt, C.int(promptLen))
		req.useText = true
	} else if nIDs > 0 {
		req.ids = append([]int32(nil), unsafe.Slice((*int32)(unsafe.Pointer(ids)), int(nIDs))...)
	}
	if optionsJSON != nil {
		req.options = []byte(C.GoString(optionsJSON))
	}
	if onToken != nil {
		// The piece is copied into a C buffer so no Go pointer reaches the callback.
		var buf unsafe.Pointer
		var bufCap int
		defer func() {
			if buf != nil {
				C.free(buf)
			}
		}()
		req.onToken = func(id int32, piece []byte) bool {
			if len(piece) > bufCap {
				if buf != nil {
					C.free(buf)
				}
				bufCap = max(64, 2*len(piece))
				buf = C.malloc(C.size_t(bufCap))
			}
			var p *C.char
			if len(piece) > 0 {
				copy(unsafe.Slice((*byte)(buf), len(piece)), piece)
				p = (*C.char)(buf)
			}
			return C.hearth_internal_call_token(onToken, user, C.int32_t(id), p, C.size_t(len(piece))) == 0
		}
	}
	b, err := generate(uint64(h), req)
	if err != nil {
		return finish(err)
	}
	*resultOut = cBytes(b)
	return finish(nil)
}

//export hearth_cancel
func hearth_cancel(h C.hearth_model) (status C.int) {
	defer guard(&status)
	return finish(cancel(uint64(h)))
}

// statusName is hearth_status_name for Go callers (tests).
func statusName(st int) string { return C.GoString(C.hearth_status_name(C.int(st))) }

// cInt lets tests exercise guard without importing "C".
type cInt = C.int
