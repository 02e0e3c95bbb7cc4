// Package cache is Hearth's content-addressed model store.
//
// Blobs live under DIR/blobs, named by the SHA-256 of their content. An index
// (DIR/index.json) maps each source (a URL) to a digest, with the server's
// validators (ETag, Last-Modified), and records each blob's size and last
// access for LRU eviction. Downloads stream into DIR/partial while hashing,
// resume with a Range request guarded by If-Range, and are published with
// fsync and rename, so no partial or unverified file ever sits under a final
// name. Every change to the index and every download is serialized across
// processes with flock(2) locks, which the kernel releases when a process
// dies; a blob held open through Acquire is never evicted.
package cache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Options configures a Store.
type Options struct {
	// Dir is the cache folder. Empty means $HEARTH_CACHE_DIR, else
	// $XDG_CACHE_HOME/hearth, else ~/.cache/hearth.
	Dir string
	// MaxBytes is the eviction budget for Prune. 0 means
	// $HEARTH_CACHE_MAX_BYTES, and no budget if that is unset.
	MaxBytes int64
	// Client makes the HTTP requests; nil means a client with sane timeouts.
	Client *http.Client
	// Now returns the current time; nil means time.Now. Tests set it.
	Now func() time.Time
}

// Store is a model cache in one folder. Its methods are safe for concurrent
// use by goroutines and by other processes sharing the folder.
type Store struct {
	dir      string
	maxBytes int64
	client   *http.Client
	now      func() time.Time
}

// Entry describes one cached blob.
type Entry struct {
	SHA256     string    `json:"sha256"`
	Size       int64     `json:"size"`
	Source     string    `json:"source"`  // the most recent source that resolved to it
	Sources    []string  `json:"sources"` // every source that resolved to it
	LastAccess time.Time `json:"lastAccess"`
	Path       string    `json:"path"`
}

// DefaultDir returns the folder a Store uses when Options.Dir is empty.
func DefaultDir() (string, error) {
	if d := os.Getenv("HEARTH_CACHE_DIR"); d != "" {
		return d, nil
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "hearth"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", &Error{Code: CodeIO, Msg: "cache: no cache folder: set HEARTH_CACHE_DIR", Err: err}
	}
	return filepath.Join(home, ".cache", "hearth"), nil
}

// Open returns the store in o.Dir (see Options), creating its folders.
func Open(o Options) (*Store, error) {
	dir := o.Dir
	if dir == "" {
		d, err := DefaultDir()
		if err != nil {
			return nil, err
		}
		dir = d
	}
	maxBytes := o.MaxBytes
	if maxBytes == 0 {
		if v := os.Getenv("HEARTH_CACHE_MAX_BYTES"); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return nil, &Error{Code: CodeInvalidSource, Msg: fmt.Sprintf("cache: HEARTH_CACHE_MAX_BYTES=%q is not a byte count", v)}
			}
			maxBytes = n
		}
	}
	if maxBytes < 0 {
		return nil, &Error{Code: CodeInvalidSource, Msg: "cache: maxBytes must not be negative"}
	}
	s := &Store{dir: dir, maxBytes: maxBytes, client: o.Client, now: o.Now}
	if s.client == nil {
		s.client = &http.Client{Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			ResponseHeaderTimeout: 60 * time.Second,
			IdleConnTimeout:       30 * time.Second,
		}}
	}
	if s.now == nil {
		s.now = time.Now
	}
	for _, d := range []string{s.dir, s.blobDir(), s.partialDir(), s.lockDir()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, &Error{Code: CodeIO, Msg: "cache: create " + d, Err: err}
		}
	}
	return s, nil
}

// Dir is the store's folder.
func (s *Store) Dir() string { return s.dir }

// MaxBytes is the store's eviction budget (0: none).
func (s *Store) MaxBytes() int64 { return s.maxBytes }

func (s *Store) blobDir() string    { return filepath.Join(s.dir, "blobs") }
func (s *Store) partialDir() string { return filepath.Join(s.dir, "partial") }
func (s *Store) lockDir() string    { return filepath.Join(s.dir, "locks") }

// BlobPath is where the blob with this digest lives.
func (s *Store) BlobPath(digest string) string {
	return filepath.Join(s.blobDir(), "sha256-"+digest+".gguf")
}

// index is the on-disk index.
type index struct {
	Version int                      `json:"version"`
	Blobs   map[string]*blobRecord   `json:"blobs"`
	Sources map[string]*sourceRecord `json:"sources"`
	// Files memoizes the digests of local files by absolute path; a record
	// holds while the file's size and modification time are unchanged.
	Files map[string]*fileRecord `json:"files,omitempty"`
}

type fileRecord struct {
	SHA256  string `json:"sha256"`
	Size    int64  `json:"size"`
	ModTime int64  `json:"mtimeNs"`
}

type blobRecord struct {
	Size       int64     `json:"size"`
	LastAccess time.Time `json:"lastAccess"`
}

type sourceRecord struct {
	SHA256       string    `json:"sha256"`
	URL          string    `json:"url"`
	ETag         string    `json:"etag,omitempty"`
	LastModified string    `json:"lastModified,omitempty"`
	Checked      time.Time `json:"checked"`
}

// withIndex runs fn on the index under the cross-process index lock and, if
// fn reports a change, writes it back atomically.
func (s *Store) withIndex(ctx context.Context, fn func(ix *index) (changed bool, err error)) error {
	return s.updateIndex(ctx, true, fn)
}

// updateIndex is withIndex; durable false skips the fsyncs (the rename stays
// atomic), for bookkeeping such as access times whose loss in a crash is
// harmless: it keeps a cache hit from waiting on the disk.
func (s *Store) updateIndex(ctx context.Context, durable bool, fn func(ix *index) (changed bool, err error)) error {
	l, err := lockFile(ctx, filepath.Join(s.lockDir(), "index.lock"), true)
	if err != nil {
		return &Error{Code: CodeIO, Msg: "cache: lock index", Err: err}
	}
	defer l.unlock()
	ix, err := s.readIndex()
	if err != nil {
		return err
	}
	changed, err := fn(ix)
	if err != nil || !changed {
		return err
	}
	return s.writeIndex(ix, durable)
}

func (s *Store) readIndex() (*index, error) {
	ix := &index{Version: 1, Blobs: map[string]*blobRecord{}, Sources: map[string]*sourceRecord{}, Files: map[string]*fileRecord{}}
	b, err := os.ReadFile(filepath.Join(s.dir, "index.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return ix, nil
	}
	if err != nil {
		return nil, &Error{Code: CodeIO, Msg: "cache: read index", Err: err}
	}
	if err := json.Unmarshal(b, ix); err != nil {
		// A corrupt index loses only bookkeeping: blobs are named by digest
		// and re-adopted by Verify. Start over rather than fail every call.
		ix = &index{Version: 1}
	}
	if ix.Blobs == nil {
		ix.Blobs = map[string]*blobRecord{}
	}
	if ix.Sources == nil {
		ix.Sources = map[string]*sourceRecord{}
	}
	if ix.Files == nil {
		ix.Files = map[string]*fileRecord{}
	}
	for p, r := range ix.Files {
		if r == nil || !validDigest(r.SHA256) {
			delete(ix.Files, p)
		}
	}
	// Drop records whose digest is malformed: never build paths from them.
	for d := range ix.Blobs {
		if !validDigest(d) {
			delete(ix.Blobs, d)
		}
	}
	for src, r := range ix.Sources {
		if r == nil || !validDigest(r.SHA256) {
			delete(ix.Sources, src)
		}
	}
	return ix, nil
}

func (s *Store) writeIndex(ix *index, durable bool) error {
	b, err := json.MarshalIndent(ix, "", " ")
	if err != nil {
		return &Error{Code: CodeIO, Msg: "cache: encode index", Err: err}
	}
	if err := writeFileAtomic(filepath.Join(s.dir, "index.json"), b, durable); err != nil {
		return &Error{Code: CodeIO, Msg: "cache: write index", Err: err}
	}
	return nil
}

// writeFileAtomic writes b to a temporary file beside path, syncs it (when
// durable) and renames it over path.
func writeFileAtomic(path string, b []byte, durable bool) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil && durable {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if !durable {
		return nil
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// entries lists the index's blobs, least recently used first.
func (s *Store) entries(ix *index) []Entry {
	bySHA := map[string]*Entry{}
	out := make([]Entry, 0, len(ix.Blobs))
	for d, b := range ix.Blobs {
		bySHA[d] = &Entry{SHA256: d, Size: b.Size, LastAccess: b.LastAccess, Path: s.BlobPath(d)}
	}
	srcs := make([]string, 0, len(ix.Sources))
	for src := range ix.Sources {
		srcs = append(srcs, src)
	}
	sort.Slice(srcs, func(i, j int) bool { return ix.Sources[srcs[i]].Checked.Before(ix.Sources[srcs[j]].Checked) })
	for _, src := range srcs {
		if e := bySHA[ix.Sources[src].SHA256]; e != nil {
			e.Sources = append(e.Sources, src)
			e.Source = src
		}
	}
	for _, e := range bySHA {
		out = append(out, *e)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].LastAccess.Equal(out[j].LastAccess) {
			return out[i].LastAccess.Before(out[j].LastAccess)
		}
		return out[i].SHA256 < out[j].SHA256
	})
	return out
}

// List returns the cached blobs, least recently used first.
func (s *Store) List(ctx context.Context) ([]Entry, error) {
	var out []Entry
	err := s.withIndex(ctx, func(ix *index) (bool, error) {
		out = s.entries(ix)
		return false, nil
	})
	return out, err
}

// Remove deletes the blob with this digest, or the blob a source resolved
// to, and every index record of it. A blob in use (see Acquire) is not
// removed: Remove fails with an error saying so.
func (s *Store) Remove(ctx context.Context, digestOrSource string) error {
	return s.withIndex(ctx, func(ix *index) (bool, error) {
		digest := digestOrSource
		if r, ok := ix.Sources[digestOrSource]; ok {
			digest = r.SHA256
		} else if !validDigest(digestOrSource) {
			return false, &Error{Code: CodeNotFound, Msg: fmt.Sprintf("cache: nothing cached for %q", digestOrSource)}
		}
		if _, ok := ix.Blobs[digest]; !ok {
			return false, &Error{Code: CodeNotFound, Msg: fmt.Sprintf("cache: nothing cached for %q", digestOrSource)}
		}
		removed, err := s.removeBlob(ix, digest)
		if err != nil {
			return false, err
		}
		if !removed {
			return false, &Error{Code: CodeIO, Msg: fmt.Sprintf("cache: %s is in use by an open model", digest)}
		}
		return true, nil
	})
}

// removeBlob deletes a blob unless someone holds it; the caller holds the
// index lock.
func (s *Store) removeBlob(ix *index, digest string) (removed bool, err error) {
	path := s.BlobPath(digest)
	l, ok, err := tryLockFile(path, true)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return false, &Error{Code: CodeIO, Msg: "cache: lock " + path, Err: err}
	case !ok:
		return false, nil
	default:
		defer l.unlock()
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return false, &Error{Code: CodeIO, Msg: "cache: remove " + path, Err: err}
		}
	}
	delete(ix.Blobs, digest)
	for src, r := range ix.Sources {
		if r.SHA256 == digest {
			delete(ix.Sources, src)
		}
	}
	return true, nil
}

// Prune evicts least recently used blobs until the cache fits MaxBytes
// (limit overrides it when > 0). Blobs in use are skipped. It returns what
// it removed.
func (s *Store) Prune(ctx context.Context, limit int64) ([]Entry, error) {
	if limit <= 0 {
		limit = s.maxBytes
	}
	var removed []Entry
	err := s.withIndex(ctx, func(ix *index) (bool, error) {
		if limit <= 0 {
			return false, nil
		}
		es := s.entries(ix)
		var total int64
		for _, e := range es {
			total += e.Size
		}
		changed := false
		for _, e := range es {
			if total <= limit {
				break
			}
			ok, err := s.removeBlob(ix, e.SHA256)
			if err != nil {
				return changed, err
			}
			if ok {
				total -= e.Size
				removed = append(removed, e)
				changed = true
			}
		}
		return changed, nil
	})
	return removed, err
}

// VerifyReport says what Verify found.
type VerifyReport struct {
	OK      []Entry `json:"ok"`
	Corrupt []Entry `json:"corrupt"` // removed: their content no longer matched their digest
	Missing []Entry `json:"missing"` // indexed, but the file was gone; dropped from the index
}

// Verify rehashes every blob, removes those whose content does not match
// their digest, and drops index records of missing files.
func (s *Store) Verify(ctx context.Context) (VerifyReport, error) {
	var rep VerifyReport
	err := s.withIndex(ctx, func(ix *index) (bool, error) {
		changed := false
		for _, e := range s.entries(ix) {
			got, size, err := hashFile(ctx, e.Path)
			switch {
			case errors.Is(err, fs.ErrNotExist):
				rep.Missing = append(rep.Missing, e)
				delete(ix.Blobs, e.SHA256)
				for src, r := range ix.Sources {
					if r.SHA256 == e.SHA256 {
						delete(ix.Sources, src)
					}
				}
				changed = true
			case err != nil:
				return changed, err
			case got != e.SHA256 || size != e.Size:
				rep.Corrupt = append(rep.Corrupt, e)
				// A corrupt blob is removed even when open: nobody should
				// load it again, and the open mapping stays valid.
				os.Remove(e.Path)
				delete(ix.Blobs, e.SHA256)
				for src, r := range ix.Sources {
					if r.SHA256 == e.SHA256 {
						delete(ix.Sources, src)
					}
				}
				changed = true
			default:
				rep.OK = append(rep.OK, e)
			}
		}
		return changed, nil
	})
	return rep, err
}

// hashFile returns the SHA-256 and size of a file.
func hashFile(ctx context.Context, path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, ctxReader{ctx, f})
	if err != nil {
		return "", n, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// ctxReader stops a copy when its context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// Lease keeps a blob from being evicted or removed while a model uses it.
type Lease struct{ l *fileLock }

// Release ends the lease. It is safe to call more than once.
func (l *Lease) Release() error {
	if l == nil {
		return nil
	}
	return l.l.unlock()
}

// AcquireBlob leases the file at path if it is a cache blob (a file named
// sha256-<digest>.gguf in a folder named blobs), whichever store it belongs
// to; ok is false, with no lease, for any other path. Model loaders call it
// before opening a file so that no cache evicts a model while it is open.
func AcquireBlob(path string) (l *Lease, ok bool, err error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, false, nil
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	name := filepath.Base(abs)
	digest, found := strings.CutPrefix(name, "sha256-")
	digest, isGGUF := strings.CutSuffix(digest, ".gguf")
	if !found || !isGGUF || !validDigest(digest) || filepath.Base(filepath.Dir(abs)) != "blobs" {
		return nil, false, nil
	}
	fl, held, err := tryLockFile(abs, false)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, false, nil // the loader reports the missing file
	case err != nil:
		return nil, false, &Error{Code: CodeIO, Msg: "cache: acquire " + abs, Err: err}
	case !held:
		return nil, false, &Error{Code: CodeIO, Msg: "cache: " + abs + " is being removed"}
	}
	return &Lease{fl}, true, nil
}

// Acquire takes a shared lock on the blob at path (as returned by Resolve),
// so that Prune and Remove skip it, in this process and in others, until
// the lease is released.
func (s *Store) Acquire(path string) (*Lease, error) {
	l, ok, err := tryLockFile(path, false)
	if err != nil {
		return nil, &Error{Code: CodeIO, Msg: "cache: acquire " + path, Err: err}
	}
	if !ok {
		return nil, &Error{Code: CodeIO, Msg: "cache: " + path + " is being removed"}
	}
	return &Lease{l}, nil
}
