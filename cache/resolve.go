package cache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Progress reports a download's state.
type Progress struct {
	Downloaded     int64   `json:"downloaded"` // bytes on disk so far, resumed bytes included
	Total          int64   `json:"total"`      // -1 when the server does not say
	BytesPerSecond float64 `json:"bytesPerSecond"`
}

// ResolveOptions tunes Resolve.
type ResolveOptions struct {
	// SHA256 is the expected digest (hex). A download that does not match
	// fails with CodeDigestMismatch and nothing is kept.
	SHA256 string
	// OnProgress is called as bytes arrive, at most about 10 times a second,
	// and once at the end.
	OnProgress func(Progress)
	// Revalidate makes a conditional request for a cached source; a changed
	// file is downloaded again. Offline, the cached copy is used.
	Revalidate bool
	// MaxAge revalidates a cached source last checked longer ago than this.
	MaxAge time.Duration
	// Offline never touches the network: a source that is not cached fails
	// with CodeNotFound, and a cached one is used without revalidation.
	Offline bool
}

// Result says where a source resolved to.
type Result struct {
	Path       string `json:"path"`
	SHA256     string `json:"sha256"`
	Size       int64  `json:"size"`
	Downloaded bool   `json:"downloaded"` // bytes were fetched in this call
	Resumed    bool   `json:"resumed"`    // the download continued a partial one
	Offline    bool   `json:"offline"`    // revalidation failed; the cached copy was used
}

// partialMeta is what a partial download remembers so it can resume.
type partialMeta struct {
	URL          string `json:"url"`
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"lastModified,omitempty"`
	Total        int64  `json:"total"`
}

// Resolve returns a local path for source: a blob already cached, or one
// downloaded now. Concurrent calls for one source, in this process or in
// others, download it once.
func (s *Store) Resolve(ctx context.Context, source string, o ResolveOptions) (Result, error) {
	if o.SHA256 != "" {
		o.SHA256 = strings.ToLower(o.SHA256)
		if !validDigest(o.SHA256) {
			return Result{}, &Error{Code: CodeInvalidSource, Msg: fmt.Sprintf("cache: sha256 %q is not 64 hex digits", o.SHA256)}
		}
	}
	if !IsRemote(source) {
		return s.resolveLocal(ctx, source, o)
	}
	url, err := ResolveURL(source)
	if err != nil {
		return Result{}, err
	}
	// One downloader per source: the others wait here and then find the blob.
	dl, err := lockFile(ctx, filepath.Join(s.lockDir(), sourceKey(source)+".lock"), true)
	if err != nil {
		if ctx.Err() != nil {
			return Result{}, &Error{Code: CodeAborted, Msg: "cache: resolve " + source + " aborted", Err: ctx.Err()}
		}
		return Result{}, &Error{Code: CodeIO, Msg: "cache: lock " + source, Err: err}
	}
	defer dl.unlock()

	cached, rec, err := s.lookup(ctx, source)
	if err != nil {
		return Result{}, err
	}
	if o.Offline {
		if cached == nil || (o.SHA256 != "" && cached.SHA256 != o.SHA256) {
			return Result{}, &Error{Code: CodeNotFound, Msg: fmt.Sprintf("cache: %s is not cached and offline mode is on", source)}
		}
		return *cached, s.touch(ctx, source, rec, false)
	}
	if cached != nil {
		if o.SHA256 != "" && cached.SHA256 != o.SHA256 {
			// The caller expects other content: fetch again and check.
			cached = nil
		} else {
			stale := o.Revalidate || (o.MaxAge > 0 && s.now().Sub(rec.Checked) > o.MaxAge)
			if !stale {
				return *cached, s.touch(ctx, source, rec, false)
			}
			changed, err := s.revalidate(ctx, url, rec)
			if err != nil {
				if isNetworkError(err) {
					cached.Offline = true
					return *cached, s.touch(ctx, source, rec, false)
				}
				return Result{}, err
			}
			if !changed {
				return *cached, s.touch(ctx, source, rec, true)
			}
		}
	}
	return s.download(ctx, source, url, o)
}

// lookup finds a cached blob for source.
func (s *Store) lookup(ctx context.Context, source string) (*Result, *sourceRecord, error) {
	var res *Result
	var rec sourceRecord
	err := s.withIndex(ctx, func(ix *index) (bool, error) {
		r, ok := ix.Sources[source]
		if !ok {
			return false, nil
		}
		b, ok := ix.Blobs[r.SHA256]
		path := s.BlobPath(r.SHA256)
		fi, err := os.Stat(path)
		if !ok || err != nil || fi.Size() != b.Size {
			// The blob is gone or damaged: forget the source so it is fetched again.
			delete(ix.Sources, source)
			return true, nil
		}
		rec = *r
		res = &Result{Path: path, SHA256: r.SHA256, Size: b.Size}
		return false, nil
	})
	return res, &rec, err
}

// touch records an access (and a successful revalidation when checked).
func (s *Store) touch(ctx context.Context, source string, rec *sourceRecord, checked bool) error {
	now := s.now()
	return s.updateIndex(ctx, checked, func(ix *index) (bool, error) {
		if b, ok := ix.Blobs[rec.SHA256]; ok {
			b.LastAccess = now
		}
		if r, ok := ix.Sources[source]; ok && checked {
			r.Checked = now
		}
		return true, nil
	})
}

// revalidate asks the server whether the cached copy is current.
func (s *Store) revalidate(ctx context.Context, url string, rec *sourceRecord) (changed bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, url, nil)
	if err != nil {
		return false, &Error{Code: CodeInvalidSource, Msg: "cache: request " + url, Err: err}
	}
	if rec.ETag != "" {
		req.Header.Set("If-None-Match", rec.ETag)
	}
	if rec.LastModified != "" {
		req.Header.Set("If-Modified-Since", rec.LastModified)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return false, err
	}
	resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotModified:
		return false, nil
	case resp.StatusCode == http.StatusOK:
		// Without validators, equal ETag or Last-Modified still means unchanged.
		if rec.ETag != "" && resp.Header.Get("ETag") == rec.ETag {
			return false, nil
		}
		if rec.ETag == "" && rec.LastModified != "" && resp.Header.Get("Last-Modified") == rec.LastModified {
			return false, nil
		}
		return true, nil
	default:
		return false, &Error{Code: CodeDownload, Msg: fmt.Sprintf("cache: revalidate %s: HTTP %s", url, resp.Status)}
	}
}

// isNetworkError reports whether err means the server could not be reached.
func isNetworkError(err error) bool {
	var ne net.Error
	var oe *net.OpError
	var dnsErr *net.DNSError
	return errors.As(err, &ne) || errors.As(err, &oe) || errors.As(err, &dnsErr)
}

// download fetches url into a partial file, resuming one left by an earlier
// attempt, verifies it, and publishes it as a blob. The caller holds the
// source's download lock.
func (s *Store) download(ctx context.Context, source, url string, o ResolveOptions) (Result, error) {
	key := sourceKey(source)
	partPath := filepath.Join(s.partialDir(), key+".part")
	metaPath := filepath.Join(s.partialDir(), key+".json")
	discard := func() {
		os.Remove(partPath)
		os.Remove(metaPath)
	}

	var meta partialMeta
	var have int64
	if b, err := os.ReadFile(metaPath); err == nil && json.Unmarshal(b, &meta) == nil && meta.URL == url {
		if fi, err := os.Stat(partPath); err == nil {
			have = fi.Size()
		}
	} else {
		discard()
		meta = partialMeta{URL: url}
	}
	canResume := have > 0 && (meta.ETag != "" || meta.LastModified != "")
	if !canResume {
		have = 0
	}

	f, err := os.OpenFile(partPath, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return Result{}, &Error{Code: CodeIO, Msg: "cache: open " + partPath, Err: err}
	}
	defer f.Close()

	// Hash what is already there, so the digest covers the whole file.
	h := sha256.New()
	if have > 0 {
		n, err := io.Copy(h, io.NewSectionReader(f, 0, have))
		if err != nil || n != have {
			have = 0
			h.Reset()
		}
	}

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return Result{}, &Error{Code: CodeInvalidSource, Msg: "cache: request " + url, Err: err}
	}
	if have > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(have, 10)+"-")
		if meta.ETag != "" && !strings.HasPrefix(meta.ETag, "W/") {
			req.Header.Set("If-Range", meta.ETag)
		} else {
			req.Header.Set("If-Range", meta.LastModified)
		}
	}
	resp, err := s.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return Result{}, &Error{Code: CodeAborted, Msg: "cache: download " + url + " aborted", Err: ctx.Err()}
		}
		return Result{}, &Error{Code: CodeDownload, Msg: "cache: download " + url, Err: err}
	}
	defer resp.Body.Close()

	resumed := false
	switch resp.StatusCode {
	case http.StatusPartialContent:
		start, total, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if !ok || start != have {
			discard()
			return Result{}, &Error{Code: CodeDownload, Msg: fmt.Sprintf("cache: download %s: bad Content-Range %q for a request from byte %d", url, resp.Header.Get("Content-Range"), have)}
		}
		meta.Total = total
		resumed = true
	case http.StatusOK:
		// A fresh start: the server ignored Range or the file changed.
		have = 0
		h.Reset()
		meta.Total = resp.ContentLength
		meta.ETag = resp.Header.Get("ETag")
		meta.LastModified = resp.Header.Get("Last-Modified")
	case http.StatusRequestedRangeNotSatisfiable:
		discard()
		return Result{}, &Error{Code: CodeDownload, Msg: fmt.Sprintf("cache: download %s: HTTP %s; the partial file was discarded, try again", url, resp.Status)}
	default:
		return Result{}, &Error{Code: CodeDownload, Msg: fmt.Sprintf("cache: download %s: HTTP %s", url, resp.Status)}
	}
	if err := f.Truncate(have); err != nil {
		return Result{}, &Error{Code: CodeIO, Msg: "cache: truncate " + partPath, Err: err}
	}
	if _, err := f.Seek(have, io.SeekStart); err != nil {
		return Result{}, &Error{Code: CodeIO, Msg: "cache: seek " + partPath, Err: err}
	}
	if mb, err := json.Marshal(meta); err == nil {
		if err := writeFileAtomic(metaPath, mb, true); err != nil {
			return Result{}, &Error{Code: CodeIO, Msg: "cache: write " + metaPath, Err: err}
		}
	}

	digestHint := serverDigest(resp.Header.Get("X-Linked-Etag"), meta.ETag)
	pr := &progressWriter{total: meta.Total, done: have, start: time.Now(), startDone: have, fn: o.OnProgress}
	_, copyErr := io.Copy(io.MultiWriter(f, h, pr), ctxReader{ctx, resp.Body})
	pr.report(true)
	if copyErr == nil {
		copyErr = f.Sync()
	}
	if copyErr != nil {
		// Keep the partial file: the next attempt resumes from it.
		if ctx.Err() != nil {
			return Result{}, &Error{Code: CodeAborted, Msg: "cache: download " + url + " aborted", Err: ctx.Err()}
		}
		return Result{}, &Error{Code: CodeDownload, Msg: fmt.Sprintf("cache: download %s: interrupted at byte %d (will resume)", url, pr.done), Err: copyErr}
	}
	size := pr.done
	if meta.Total >= 0 && size != meta.Total {
		return Result{}, &Error{Code: CodeDownload, Msg: fmt.Sprintf("cache: download %s: got %d bytes, server announced %d (will resume)", url, size, meta.Total)}
	}
	digest := hex.EncodeToString(h.Sum(nil))
	for _, want := range []struct{ who, d string }{{"expected", o.SHA256}, {"the server's", digestHint}} {
		if want.d != "" && want.d != digest {
			discard()
			return Result{}, &Error{Code: CodeDigestMismatch, Msg: fmt.Sprintf("cache: %s: content has sha256 %s, %s digest is %s; nothing was kept", url, digest, want.who, want.d)}
		}
	}
	if err := f.Close(); err != nil {
		return Result{}, &Error{Code: CodeIO, Msg: "cache: close " + partPath, Err: err}
	}

	final := s.BlobPath(digest)
	if err := os.Rename(partPath, final); err != nil {
		return Result{}, &Error{Code: CodeIO, Msg: "cache: publish " + final, Err: err}
	}
	if err := syncDir(s.blobDir()); err != nil {
		return Result{}, &Error{Code: CodeIO, Msg: "cache: sync " + s.blobDir(), Err: err}
	}
	os.Remove(metaPath)

	now := s.now()
	err = s.withIndex(ctx, func(ix *index) (bool, error) {
		ix.Blobs[digest] = &blobRecord{Size: size, LastAccess: now}
		ix.Sources[source] = &sourceRecord{SHA256: digest, URL: url, ETag: meta.ETag, LastModified: meta.LastModified, Checked: now}
		return true, nil
	})
	if err != nil {
		return Result{}, err
	}
	return Result{Path: final, SHA256: digest, Size: size, Downloaded: true, Resumed: resumed}, nil
}

// parseContentRange reads "bytes START-END/TOTAL" (TOTAL may be "*").
func parseContentRange(v string) (start, total int64, ok bool) {
	rest, found := strings.CutPrefix(v, "bytes ")
	if !found {
		return 0, 0, false
	}
	rng, tot, found := strings.Cut(rest, "/")
	if !found {
		return 0, 0, false
	}
	a, _, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, false
	}
	start, err := strconv.ParseInt(a, 10, 64)
	if err != nil || start < 0 {
		return 0, 0, false
	}
	total = -1
	if tot != "*" {
		if total, err = strconv.ParseInt(tot, 10, 64); err != nil || total < start {
			return 0, 0, false
		}
	}
	return start, total, true
}

// progressWriter counts bytes and calls the progress callback, throttled.
type progressWriter struct {
	total, done, startDone int64
	start, last            time.Time
	fn                     func(Progress)
}

func (p *progressWriter) Write(b []byte) (int, error) {
	p.done += int64(len(b))
	p.report(false)
	return len(b), nil
}

func (p *progressWriter) report(final bool) {
	if p.fn == nil {
		return
	}
	now := time.Now()
	if !final && now.Sub(p.last) < 100*time.Millisecond {
		return
	}
	p.last = now
	bps := 0.0
	if el := now.Sub(p.start).Seconds(); el > 0 {
		bps = float64(p.done-p.startDone) / el
	}
	p.fn(Progress{Downloaded: p.done, Total: p.total, BytesPerSecond: bps})
}

// resolveLocal answers for a local file: the file itself, checked against
// o.SHA256 when given. Its digest is memoized in the index by path, size and
// modification time, so a second check of an unchanged file reads nothing.
func (s *Store) resolveLocal(ctx context.Context, path string, o ResolveOptions) (Result, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return Result{}, &Error{Code: CodeInvalidSource, Msg: fmt.Sprintf("cache: bad path %q", path), Err: err}
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return Result{}, &Error{Code: CodeNotFound, Msg: fmt.Sprintf("cache: %s", path), Err: err}
	}
	if !fi.Mode().IsRegular() {
		return Result{}, &Error{Code: CodeInvalidSource, Msg: fmt.Sprintf("cache: %s is not a regular file", path)}
	}
	res := Result{Path: abs, Size: fi.Size()}
	if o.SHA256 == "" {
		return res, nil
	}
	digest, err := s.FileDigest(ctx, abs)
	if err != nil {
		return Result{}, err
	}
	if digest != o.SHA256 {
		return Result{}, &Error{Code: CodeDigestMismatch, Msg: fmt.Sprintf("cache: %s has sha256 %s, expected %s", path, digest, o.SHA256)}
	}
	res.SHA256 = digest
	return res, nil
}

// FileDigest returns the SHA-256 of a local file, memoized in the index by
// absolute path, size and modification time.
func (s *Store) FileDigest(ctx context.Context, path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", &Error{Code: CodeInvalidSource, Msg: fmt.Sprintf("cache: bad path %q", path), Err: err}
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return "", &Error{Code: CodeNotFound, Msg: fmt.Sprintf("cache: %s", path), Err: err}
	}
	var memo string
	err = s.updateIndex(ctx, false, func(ix *index) (bool, error) {
		if r, ok := ix.Files[abs]; ok && r.Size == fi.Size() && r.ModTime == fi.ModTime().UnixNano() {
			memo = r.SHA256
		}
		return false, nil
	})
	if err != nil || memo != "" {
		return memo, err
	}
	digest, size, err := hashFile(ctx, abs)
	if err != nil {
		return "", &Error{Code: CodeIO, Msg: "cache: hash " + path, Err: err}
	}
	if size != fi.Size() {
		return "", &Error{Code: CodeIO, Msg: fmt.Sprintf("cache: %s changed while it was read", path)}
	}
	err = s.updateIndex(ctx, false, func(ix *index) (bool, error) {
		ix.Files[abs] = &fileRecord{SHA256: digest, Size: fi.Size(), ModTime: fi.ModTime().UnixNano()}
		return true, nil
	})
	return digest, err
}
