package main

// The model cache's half of the C ABI (see "Model cache" in hearth.h).
//
// Cache functions are stateless: each takes the cache's options as JSON and
// opens the store (package cache) for the call, which costs a few mkdir
// calls. Cancellation goes through jobs, numbered like model handles and never
// reused. Models loaded from a cache blob hold a cache.Lease until they are
// freed, so no cache (in this process or another) evicts an open model.

/*
#include "internal.h"

typedef uint64_t hearth_job;
typedef int (*hearth_progress_callback)(void *user, int64_t downloaded, int64_t total,
                                        double bytes_per_second);

// cgo cannot call a C function pointer directly.
static inline int hearth_internal_call_progress(hearth_progress_callback cb, void *user,
                                                int64_t downloaded, int64_t total, double bps) {
  return cb(user, downloaded, total, bps);
}
*/
import "C"

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"
	"unsafe"

	"github.com/hearthllm/hearth/cache"
)

// Status codes of the cache; they mirror hearth.h.
const (
	statusDigestMismatch = 11
	statusDownload       = 12
	statusAborted        = 13
)

// cacheCodeStatus maps cache error codes to ABI status codes.
var cacheCodeStatus = map[string]int{
	cache.CodeDigestMismatch: statusDigestMismatch,
	cache.CodeDownload:       statusDownload,
	cache.CodeAborted:        statusAborted,
	cache.CodeNotFound:       statusNotFound,
	cache.CodeIO:             statusIO,
	cache.CodeInvalidSource:  statusInvalidOption,
}

// cacheError gives a cache error its ABI status (other errors pass through).
func cacheError(err error) error {
	var ce *cache.Error
	if errors.As(err, &ce) {
		if st, ok := cacheCodeStatus[ce.Code]; ok {
			return &apiError{status: st, msg: err.Error()}
		}
	}
	return err
}

// jobTable holds the cancel functions of running cache calls.
type jobTable struct {
	mu   sync.Mutex
	next uint64
	jobs map[uint64]*job
}

// job is one cancellable call; cancel may come before the call starts.
type job struct {
	ctx    context.Context
	cancel context.CancelFunc
}

// leaseTable holds the cache leases of loaded models, by model handle.
type leaseTable struct {
	mu     sync.Mutex
	leases map[uint64]*cache.Lease
}

// cacheState is the cache's package-level state, like models (see the
// package doc): C callers refer to jobs by number, and leases live as long
// as the models they belong to.
var cacheState = struct {
	jobs   jobTable
	leases leaseTable
}{
	jobs:   jobTable{jobs: make(map[uint64]*job)},
	leases: leaseTable{leases: make(map[uint64]*cache.Lease)},
}

func (t *jobTable) add() uint64 {
	ctx, cancel := context.WithCancel(context.Background())
	t.mu.Lock()
	defer t.mu.Unlock()
	t.next++
	t.jobs[t.next] = &job{ctx: ctx, cancel: cancel}
	return t.next
}

func (t *jobTable) get(id uint64) (*job, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if j, ok := t.jobs[id]; ok {
		return j, nil
	}
	return nil, errorf(statusInvalidHandle, "hearth: %d is not a job handle", id)
}

func (t *jobTable) free(id uint64) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	j, ok := t.jobs[id]
	if !ok {
		return errorf(statusInvalidHandle, "hearth: %d is not a job handle", id)
	}
	j.cancel()
	delete(t.jobs, id)
	return nil
}

// jobContext is the context of job id (0: a context that is never cancelled).
func jobContext(id uint64) (context.Context, error) {
	if id == 0 {
		return context.Background(), nil
	}
	j, err := cacheState.jobs.get(id)
	if err != nil {
		return nil, err
	}
	return j.ctx, nil
}

// leaseModelFile takes a lease on path if it is a cache blob (nil otherwise).
func leaseModelFile(path string) (*cache.Lease, error) {
	l, _, err := cache.AcquireBlob(path)
	return l, cacheError(err)
}

// keepLease ties a lease to a model handle until releaseLease.
func keepLease(h uint64, l *cache.Lease) {
	if l == nil {
		return
	}
	cacheState.leases.mu.Lock()
	defer cacheState.leases.mu.Unlock()
	cacheState.leases.leases[h] = l
}

// releaseLease ends the lease of a freed model, if it had one.
func releaseLease(h uint64) {
	cacheState.leases.mu.Lock()
	l := cacheState.leases.leases[h]
	delete(cacheState.leases.leases, h)
	cacheState.leases.mu.Unlock()
	l.Release()
}

// cacheOptions is the JSON form of cache.Options.
type cacheOptions struct {
	Dir      string `json:"dir"`
	MaxBytes int64  `json:"maxBytes"`
}

func openCache(optsJSON *C.char) (*cache.Store, error) {
	var o cacheOptions
	if optsJSON != nil {
		if err := decodeStrict("cache", []byte(C.GoString(optsJSON)), &o); err != nil {
			return nil, err
		}
	}
	if o.MaxBytes < 0 {
		return nil, errorf(statusInvalidOption, "hearth: cache option maxBytes: %d is negative", o.MaxBytes)
	}
	s, err := cache.Open(cache.Options{Dir: o.Dir, MaxBytes: o.MaxBytes})
	return s, cacheError(err)
}

// resolveOptions is the JSON form of cache.ResolveOptions.
type resolveOptions struct {
	SHA256     string  `json:"sha256"`
	Revalidate bool    `json:"revalidate"`
	MaxAgeMs   float64 `json:"maxAgeMs"`
	Offline    bool    `json:"offline"`
}

// setJSON marshals v into *out (malloc'd).
func setJSON(out **C.char, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return errorf(statusInternal, "hearth: encoding JSON: %v", err)
	}
	*out = cBytes(b)
	return nil
}

//export hearth_cache_default_dir
func hearth_cache_default_dir(dirOut **C.char) (status C.int) {
	defer guard(&status)
	if dirOut == nil {
		return finish(errorf(statusInvalidOption, "hearth: dir_out must not be NULL"))
	}
	*dirOut = nil
	d, err := cache.DefaultDir()
	if err != nil {
		return finish(cacheError(err))
	}
	*dirOut = cBytes([]byte(d))
	return finish(nil)
}

//export hearth_cache_open
func hearth_cache_open(cacheJSON *C.char, infoOut **C.char) (status C.int) {
	defer guard(&status)
	if infoOut == nil {
		return finish(errorf(statusInvalidOption, "hearth: info_out must not be NULL"))
	}
	*infoOut = nil
	s, err := openCache(cacheJSON)
	if err != nil {
		return finish(err)
	}
	return finish(setJSON(infoOut, map[string]any{"dir": s.Dir(), "maxBytes": s.MaxBytes()}))
}

//export hearth_job_new
func hearth_job_new(out *C.hearth_job) (status C.int) {
	defer guard(&status)
	if out == nil {
		return finish(errorf(statusInvalidOption, "hearth: out must not be NULL"))
	}
	*out = C.hearth_job(cacheState.jobs.add())
	return finish(nil)
}

//export hearth_job_cancel
func hearth_job_cancel(id C.hearth_job) (status C.int) {
	defer guard(&status)
	j, err := cacheState.jobs.get(uint64(id))
	if err != nil {
		return finish(err)
	}
	j.cancel()
	return finish(nil)
}

//export hearth_job_free
func hearth_job_free(id C.hearth_job) (status C.int) {
	defer guard(&status)
	return finish(cacheState.jobs.free(uint64(id)))
}

//export hearth_cache_resolve
func hearth_cache_resolve(cacheJSON, source, optionsJSON *C.char, onProgress C.hearth_progress_callback,
	user unsafe.Pointer, jobID C.hearth_job, resultOut **C.char) (status C.int) {
	defer guard(&status)
	if source == nil || resultOut == nil {
		return finish(errorf(statusInvalidOption, "hearth: cache resolve: NULL argument"))
	}
	*resultOut = nil
	var o resolveOptions
	if optionsJSON != nil {
		if err := decodeStrict("resolve", []byte(C.GoString(optionsJSON)), &o); err != nil {
			return finish(err)
		}
	}
	if o.MaxAgeMs < 0 {
		return finish(errorf(statusInvalidOption, "hearth: resolve option maxAgeMs: %g is negative", o.MaxAgeMs))
	}
	s, err := openCache(cacheJSON)
	if err != nil {
		return finish(err)
	}
	parent, err := jobContext(uint64(jobID))
	if err != nil {
		return finish(err)
	}
	ctx, stop := context.WithCancel(parent)
	defer stop()
	ro := cache.ResolveOptions{
		SHA256:     o.SHA256,
		Revalidate: o.Revalidate,
		MaxAge:     time.Duration(o.MaxAgeMs * float64(time.Millisecond)),
		Offline:    o.Offline,
	}
	if onProgress != nil {
		ro.OnProgress = func(p cache.Progress) {
			if C.hearth_internal_call_progress(onProgress, user, C.int64_t(p.Downloaded), C.int64_t(p.Total), C.double(p.BytesPerSecond)) != 0 {
				stop()
			}
		}
	}
	src := C.GoString(source)
	res, err := s.Resolve(ctx, src, ro)
	if err != nil {
		return finish(cacheError(err))
	}
	if res.Downloaded && s.MaxBytes() > 0 {
		// Keep the cache within its budget, never evicting what was just
		// fetched. Best effort: the resolve itself succeeded.
		if l, err := s.Acquire(res.Path); err == nil {
			_, _ = s.Prune(context.Background(), 0)
			l.Release()
		}
	}
	return finish(setJSON(resultOut, res))
}

//export hearth_cache_list
func hearth_cache_list(cacheJSON *C.char, jsonOut **C.char) (status C.int) {
	defer guard(&status)
	if jsonOut == nil {
		return finish(errorf(statusInvalidOption, "hearth: json_out must not be NULL"))
	}
	*jsonOut = nil
	s, err := openCache(cacheJSON)
	if err != nil {
		return finish(err)
	}
	es, err := s.List(context.Background())
	if err != nil {
		return finish(cacheError(err))
	}
	return finish(setJSON(jsonOut, nonNil(es)))
}

//export hearth_cache_remove
func hearth_cache_remove(cacheJSON, key *C.char) (status C.int) {
	defer guard(&status)
	if key == nil {
		return finish(errorf(statusInvalidOption, "hearth: cache remove: NULL key"))
	}
	s, err := openCache(cacheJSON)
	if err != nil {
		return finish(err)
	}
	return finish(cacheError(s.Remove(context.Background(), C.GoString(key))))
}

//export hearth_cache_prune
func hearth_cache_prune(cacheJSON *C.char, maxBytes C.int64_t, jsonOut **C.char) (status C.int) {
	defer guard(&status)
	if jsonOut == nil {
		return finish(errorf(statusInvalidOption, "hearth: json_out must not be NULL"))
	}
	*jsonOut = nil
	s, err := openCache(cacheJSON)
	if err != nil {
		return finish(err)
	}
	removed, err := s.Prune(context.Background(), int64(maxBytes))
	if err != nil {
		return finish(cacheError(err))
	}
	return finish(setJSON(jsonOut, nonNil(removed)))
}

//export hearth_cache_verify
func hearth_cache_verify(cacheJSON *C.char, jobID C.hearth_job, jsonOut **C.char) (status C.int) {
	defer guard(&status)
	if jsonOut == nil {
		return finish(errorf(statusInvalidOption, "hearth: json_out must not be NULL"))
	}
	*jsonOut = nil
	s, err := openCache(cacheJSON)
	if err != nil {
		return finish(err)
	}
	ctx, err := jobContext(uint64(jobID))
	if err != nil {
		return finish(err)
	}
	rep, err := s.Verify(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return finish(errorf(statusAborted, "hearth: cache verify aborted"))
		}
		return finish(cacheError(err))
	}
	rep.OK, rep.Corrupt, rep.Missing = nonNil(rep.OK), nonNil(rep.Corrupt), nonNil(rep.Missing)
	return finish(setJSON(jsonOut, rep))
}

// nonNil makes a nil list encode as [] rather than null.
func nonNil(es []cache.Entry) []cache.Entry {
	if es == nil {
		return []cache.Entry{}
	}
	for i := range es {
		if es[i].Sources == nil {
			es[i].Sources = []string{}
		}
	}
	return es
}
