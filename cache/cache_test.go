package cache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hearthllm/hearth/internal/testmodels"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// realModel returns the bytes of a real GGUF file, skipping loudly without it.
func realModel(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(testmodels.Path(t, "stories260K.gguf"))
	require.NoError(t, err)
	return b
}

func digestOf(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// faultServer serves one file with injectable faults and logs requests.
type faultServer struct {
	mu          sync.Mutex
	data        []byte
	etag        string
	linkedETag  string
	dropAfter   int64 // abort the connection after this many body bytes (once), 0 = never
	ignoreRange bool
	status      int           // if non-zero, answer with this status
	delay       time.Duration // pause per 8 KiB chunk
	log         []string      // "GET bytes=N-" or "GET" or "HEAD"
	full        int           // 200 responses with a body
}

func (s *faultServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	data, etag, drop, status, delay, ignore := s.data, s.etag, s.dropAfter, s.status, s.delay, s.ignoreRange
	entry := r.Method
	if rg := r.Header.Get("Range"); rg != "" {
		entry += " " + rg
	}
	s.log = append(s.log, entry)
	s.dropAfter = 0
	s.mu.Unlock()

	if status != 0 {
		http.Error(w, http.StatusText(status), status)
		return
	}
	if etag != "" {
		w.Header().Set("ETag", etag)
	}
	if s.linkedETag != "" {
		w.Header().Set("X-Linked-Etag", s.linkedETag)
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" && inm == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	start := int64(0)
	if rg := r.Header.Get("Range"); rg != "" && !ignore && (r.Header.Get("If-Range") == "" || r.Header.Get("If-Range") == etag) {
		n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(rg, "bytes="), "-"), 10, 64)
		if err != nil || n >= int64(len(data)) {
			w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
			return
		}
		start = n
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", n, len(data)-1, len(data)))
		w.Header().Set("Content-Length", strconv.Itoa(len(data)-int(n)))
		w.WriteHeader(http.StatusPartialContent)
	} else {
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			s.mu.Lock()
			s.full++
			s.mu.Unlock()
		}
	}
	if r.Method == http.MethodHead {
		return
	}
	sent := int64(0)
	for off := start; off < int64(len(data)); off += 8192 {
		end := min(off+8192, int64(len(data)))
		if drop > 0 && sent+end-off > drop {
			w.Write(data[off : off+drop-sent])
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler) // cut the connection mid-body
		}
		if _, err := w.Write(data[off:end]); err != nil {
			return
		}
		sent += end - off
		if delay > 0 {
			w.(http.Flusher).Flush()
			time.Sleep(delay)
		}
	}
}

func (s *faultServer) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.log...)
}

func newStore(t *testing.T) *Store {
	t.Helper()
	st, err := Open(Options{Dir: t.TempDir()})
	require.NoError(t, err)
	return st
}

func TestResolveDownloadsOnceAndVerifies(t *testing.T) {
	data := realModel(t)
	fs := &faultServer{data: data, etag: `"v1"`}
	srv := httptest.NewServer(fs)
	defer srv.Close()
	st := newStore(t)
	ctx := context.Background()
	url := srv.URL + "/stories260K.gguf"

	var last Progress
	res, err := st.Resolve(ctx, url, ResolveOptions{SHA256: digestOf(data), OnProgress: func(p Progress) { last = p }})
	require.NoError(t, err)
	assert.True(t, res.Downloaded)
	assert.Equal(t, digestOf(data), res.SHA256)
	assert.Contains(t, filepath.Base(res.Path), digestOf(data))
	assert.Equal(t, int64(len(data)), last.Downloaded)
	assert.Equal(t, int64(len(data)), last.Total)
	got, err := os.ReadFile(res.Path)
	require.NoError(t, err)
	assert.Equal(t, data, got)

	again, err := st.Resolve(ctx, url, ResolveOptions{})
	require.NoError(t, err)
	assert.False(t, again.Downloaded)
	assert.Equal(t, res.Path, again.Path)
	assert.Equal(t, []string{"GET"}, fs.requests(), "the second resolve must not touch the network")

	list, err := st.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, url, list[0].Source)
	assert.Equal(t, int64(len(data)), list[0].Size)
}

func TestResolveResumesAfterDroppedConnection(t *testing.T) {
	data := realModel(t)
	fs := &faultServer{data: data, etag: `"v1"`, dropAfter: 300_000}
	srv := httptest.NewServer(fs)
	defer srv.Close()
	st := newStore(t)
	ctx := context.Background()
	url := srv.URL + "/m.gguf"

	_, err := st.Resolve(ctx, url, ResolveOptions{})
	require.Error(t, err)
	assert.Equal(t, CodeDownload, err.(*Error).Code)
	blobs, _ := os.ReadDir(st.blobDir())
	assert.Empty(t, blobs, "no partial file may sit under a final name")

	res, err := st.Resolve(ctx, url, ResolveOptions{SHA256: digestOf(data)})
	require.NoError(t, err)
	assert.True(t, res.Resumed)
	assert.Equal(t, []string{"GET", "GET bytes=300000-"}, fs.requests())
	got, _ := os.ReadFile(res.Path)
	assert.Equal(t, data, got)
}

func TestResolveServerIgnoresRange(t *testing.T) {
	data := realModel(t)
	fs := &faultServer{data: data, etag: `"v1"`, dropAfter: 100_000, ignoreRange: true}
	srv := httptest.NewServer(fs)
	defer srv.Close()
	st := newStore(t)
	_, err := st.Resolve(context.Background(), srv.URL+"/m.gguf", ResolveOptions{})
	require.Error(t, err)
	res, err := st.Resolve(context.Background(), srv.URL+"/m.gguf", ResolveOptions{SHA256: digestOf(data)})
	require.NoError(t, err, "a 200 answer to a Range request restarts from byte 0")
	assert.False(t, res.Resumed)
	got, _ := os.ReadFile(res.Path)
	assert.Equal(t, data, got)
}

func TestResolveChangedFileRestarts(t *testing.T) {
	data := realModel(t)
	fs := &faultServer{data: data, etag: `"v1"`, dropAfter: 100_000}
	srv := httptest.NewServer(fs)
	defer srv.Close()
	st := newStore(t)
	_, err := st.Resolve(context.Background(), srv.URL+"/m.gguf", ResolveOptions{})
	require.Error(t, err)
	changed := append([]byte(nil), data...)
	changed[len(changed)-1] ^= 1
	fs.mu.Lock()
	fs.data, fs.etag = changed, `"v2"`
	fs.mu.Unlock()
	res, err := st.Resolve(context.Background(), srv.URL+"/m.gguf", ResolveOptions{})
	require.NoError(t, err)
	assert.Equal(t, digestOf(changed), res.SHA256, "If-Range must stop a resume across versions")
}

func TestResolveErrors(t *testing.T) {
	data := realModel(t)
	for _, tc := range []struct {
		name   string
		server *faultServer
		opts   ResolveOptions
		code   string
		text   string
	}{
		{"404", &faultServer{data: data, status: 404}, ResolveOptions{}, CodeDownload, "404"},
		{"500", &faultServer{data: data, status: 500}, ResolveOptions{}, CodeDownload, "500"},
		{"expected digest", &faultServer{data: data, etag: `"v1"`}, ResolveOptions{SHA256: strings.Repeat("ab", 32)}, CodeDigestMismatch, "nothing was kept"},
		{"server digest", &faultServer{data: data, linkedETag: `"` + strings.Repeat("cd", 32) + `"`}, ResolveOptions{}, CodeDigestMismatch, "server's digest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.server)
			defer srv.Close()
			st := newStore(t)
			_, err := st.Resolve(context.Background(), srv.URL+"/m.gguf", tc.opts)
			require.Error(t, err)
			var ce *Error
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, tc.code, ce.Code)
			assert.Contains(t, err.Error(), tc.text)
			blobs, _ := os.ReadDir(st.blobDir())
			parts, _ := os.ReadDir(st.partialDir())
			assert.Empty(t, blobs)
			if tc.code == CodeDigestMismatch {
				assert.Empty(t, parts, "a mismatched download keeps nothing")
			}
		})
	}
}

func TestResolveServerDigestAccepted(t *testing.T) {
	data := realModel(t)
	srv := httptest.NewServer(&faultServer{data: data, linkedETag: `"` + digestOf(data) + `"`})
	defer srv.Close()
	res, err := newStore(t).Resolve(context.Background(), srv.URL+"/m.gguf", ResolveOptions{})
	require.NoError(t, err)
	assert.Equal(t, digestOf(data), res.SHA256)
}

func TestResolveSlowServerAbort(t *testing.T) {
	data := realModel(t)
	srv := httptest.NewServer(&faultServer{data: data, etag: `"v1"`, delay: 20 * time.Millisecond})
	defer srv.Close()
	st := newStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	_, err := st.Resolve(ctx, srv.URL+"/m.gguf", ResolveOptions{})
	require.Error(t, err)
	assert.Equal(t, CodeAborted, err.(*Error).Code)
	blobs, _ := os.ReadDir(st.blobDir())
	assert.Empty(t, blobs)
}

func TestRevalidate(t *testing.T) {
	data := realModel(t)
	fs := &faultServer{data: data, etag: `"v1"`}
	srv := httptest.NewServer(fs)
	url := srv.URL + "/m.gguf"
	st := newStore(t)
	ctx := context.Background()
	first, err := st.Resolve(ctx, url, ResolveOptions{})
	require.NoError(t, err)

	res, err := st.Resolve(ctx, url, ResolveOptions{Revalidate: true})
	require.NoError(t, err)
	assert.False(t, res.Downloaded, "304: keep the cached copy")

	changed := append([]byte(nil), data...)
	changed[100] ^= 0xff
	fs.mu.Lock()
	fs.data, fs.etag = changed, `"v2"`
	fs.mu.Unlock()
	res, err = st.Resolve(ctx, url, ResolveOptions{Revalidate: true})
	require.NoError(t, err)
	assert.True(t, res.Downloaded)
	assert.Equal(t, digestOf(changed), res.SHA256)
	assert.NotEqual(t, first.Path, res.Path)

	srv.Close()
	res, err = st.Resolve(ctx, url, ResolveOptions{Revalidate: true})
	require.NoError(t, err, "offline: use the cached copy")
	assert.True(t, res.Offline)
	assert.Equal(t, digestOf(changed), res.SHA256)
}

func TestVerifyFindsFlippedBit(t *testing.T) {
	data := realModel(t)
	srv := httptest.NewServer(&faultServer{data: data, etag: `"v1"`})
	defer srv.Close()
	st := newStore(t)
	ctx := context.Background()
	res, err := st.Resolve(ctx, srv.URL+"/m.gguf", ResolveOptions{})
	require.NoError(t, err)
	rep, err := st.Verify(ctx)
	require.NoError(t, err)
	assert.Len(t, rep.OK, 1)

	f, err := os.OpenFile(res.Path, os.O_RDWR, 0)
	require.NoError(t, err)
	b := make([]byte, 1)
	f.ReadAt(b, 5000)
	b[0] ^= 0x10
	f.WriteAt(b, 5000)
	f.Close()

	rep, err = st.Verify(ctx)
	require.NoError(t, err)
	require.Len(t, rep.Corrupt, 1)
	assert.Equal(t, res.SHA256, rep.Corrupt[0].SHA256)
	assert.NoFileExists(t, res.Path)
	again, err := st.Resolve(ctx, srv.URL+"/m.gguf", ResolveOptions{})
	require.NoError(t, err)
	assert.True(t, again.Downloaded, "a dropped corrupt blob is fetched again")
}

func TestPruneEvictsLeastRecentlyUsed(t *testing.T) {
	data := realModel(t)
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	st, err := Open(Options{Dir: t.TempDir(), Now: func() time.Time { return clock }})
	require.NoError(t, err)
	ctx := context.Background()
	var urls []string
	var paths []string
	for i := range 4 {
		v := append([]byte(nil), data...)
		v[len(v)-1] = byte(i)
		srv := httptest.NewServer(&faultServer{data: v, etag: fmt.Sprintf(`"v%d"`, i)})
		defer srv.Close()
		urls = append(urls, srv.URL+"/m.gguf")
		res, err := st.Resolve(ctx, urls[i], ResolveOptions{})
		require.NoError(t, err)
		paths = append(paths, res.Path)
		clock = clock.Add(time.Minute)
	}
	// Touch 0 so that 1 is now the least recently used; hold 2 open.
	_, err = st.Resolve(ctx, urls[0], ResolveOptions{})
	require.NoError(t, err)
	lease, err := st.Acquire(paths[2])
	require.NoError(t, err)
	defer lease.Release()

	list, err := st.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 4)
	assert.Equal(t, []string{urls[1], urls[2], urls[3], urls[0]}, []string{list[0].Source, list[1].Source, list[2].Source, list[3].Source})

	removed, err := st.Prune(ctx, 2*int64(len(data))) // room for two blobs
	require.NoError(t, err)
	var got []string
	for _, e := range removed {
		got = append(got, e.Source)
	}
	assert.Equal(t, []string{urls[1], urls[3]}, got, "LRU order, skipping the open blob 2")
	assert.FileExists(t, paths[2])
	assert.FileExists(t, paths[0])

	require.Error(t, st.Remove(ctx, urls[2]), "an open model is never removed")
	require.NoError(t, lease.Release())
	require.NoError(t, st.Remove(ctx, urls[2]))
	assert.NoFileExists(t, paths[2])
}

func TestResolveURL(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{"hf:TheBloke/TinyLlama-1.1B-Chat-v1.0-GGUF/tinyllama-1.1b-chat-v1.0.Q4_K_M.gguf", "https://huggingface.co/TheBloke/TinyLlama-1.1B-Chat-v1.0-GGUF/resolve/main/tinyllama-1.1b-chat-v1.0.Q4_K_M.gguf", ""},
		{"hf:o/r@v1.2/sub/f.gguf", "https://huggingface.co/o/r/resolve/v1.2/sub/f.gguf", ""},
		{"https://example.com/x.gguf", "https://example.com/x.gguf", ""},
		{"hf:o/r", "", "want hf:owner/repo/file.gguf"},
		{"hf:o/r/../x", "", "bad file path"},
		{"ftp://x", "", "not an http(s) URL"},
	} {
		got, err := ResolveURL(tc.in)
		if tc.err != "" {
			require.ErrorContains(t, err, tc.err, tc.in)
			continue
		}
		require.NoError(t, err)
		assert.Equal(t, tc.want, got)
	}
}

// TestChildResolve is not a test on its own: the process tests below run
// the test binary with HEARTH_CACHE_CHILD set to resolve a URL in another
// process.
func TestChildResolve(t *testing.T) {
	if os.Getenv("HEARTH_CACHE_CHILD") == "" {
		t.Skip("helper for the multi-process tests")
	}
	st, err := Open(Options{Dir: os.Getenv("HEARTH_CACHE_CHILD_DIR")})
	require.NoError(t, err)
	res, err := st.Resolve(context.Background(), os.Getenv("HEARTH_CACHE_CHILD_URL"), ResolveOptions{})
	require.NoError(t, err)
	b, _ := json.Marshal(res)
	fmt.Printf("RESULT %s\n", b)
}

func childCmd(dir, url string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^TestChildResolve$", "-test.v")
	cmd.Env = append(os.Environ(), "HEARTH_CACHE_CHILD=1", "HEARTH_CACHE_CHILD_DIR="+dir, "HEARTH_CACHE_CHILD_URL="+url)
	return cmd
}

func TestKilledDownloaderIsRepaired(t *testing.T) {
	data := realModel(t)
	fs := &faultServer{data: data, etag: `"v1"`, delay: 5 * time.Millisecond}
	srv := httptest.NewServer(fs)
	defer srv.Close()
	dir := t.TempDir()
	url := srv.URL + "/m.gguf"

	cmd := childCmd(dir, url)
	require.NoError(t, cmd.Start())
	part := filepath.Join(dir, "partial", sourceKey(url)+".part")
	deadline := time.Now().Add(20 * time.Second)
	for {
		fi, err := os.Stat(part)
		if err == nil && fi.Size() > 100_000 {
			break
		}
		require.True(t, time.Now().Before(deadline), "child never wrote a partial file")
		time.Sleep(5 * time.Millisecond)
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	cmd.Wait()

	fs.mu.Lock()
	fs.delay = 0
	fs.mu.Unlock()
	fi, err := os.Stat(part)
	require.NoError(t, err)
	st, err := Open(Options{Dir: dir})
	require.NoError(t, err)
	res, err := st.Resolve(context.Background(), url, ResolveOptions{SHA256: digestOf(data)})
	require.NoError(t, err, "the next process repairs and completes the cache")
	assert.True(t, res.Resumed)
	reqs := fs.requests()
	require.Len(t, reqs, 2)
	resumedFrom, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(reqs[1], "GET bytes="), "-"), 10, 64)
	require.NoError(t, err, reqs[1])
	assert.GreaterOrEqual(t, resumedFrom, fi.Size()-8192*2, "resume from about the byte the killed process had")
	assert.LessOrEqual(t, resumedFrom, fi.Size())
}

func TestTwoProcessesDownloadOnce(t *testing.T) {
	data := realModel(t)
	fs := &faultServer{data: data, etag: `"v1"`, delay: time.Millisecond}
	srv := httptest.NewServer(fs)
	defer srv.Close()
	dir := t.TempDir()
	url := srv.URL + "/m.gguf"

	var wg sync.WaitGroup
	outs := make([]string, 2)
	errs := make([]error, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, err := childCmd(dir, url).CombinedOutput()
			outs[i], errs[i] = string(b), err
		}()
	}
	wg.Wait()
	var paths []string
	for i := range 2 {
		require.NoError(t, errs[i], outs[i])
		_, after, ok := strings.Cut(outs[i], "RESULT ")
		require.True(t, ok, outs[i])
		var res Result
		require.NoError(t, json.Unmarshal([]byte(strings.SplitN(after, "\n", 2)[0]), &res))
		assert.Equal(t, digestOf(data), res.SHA256)
		paths = append(paths, res.Path)
	}
	assert.Equal(t, paths[0], paths[1])
	fs.mu.Lock()
	full := fs.full
	fs.mu.Unlock()
	assert.Equal(t, 1, full, "one download for two processes: %v", fs.requests())
	got, err := os.ReadFile(paths[0])
	require.NoError(t, err)
	assert.Equal(t, data, got)
}

func TestResolveOffline(t *testing.T) {
	data := realModel(t)
	fs := &faultServer{data: data, etag: `"v1"`}
	srv := httptest.NewServer(fs)
	defer srv.Close()
	st := newStore(t)
	ctx := context.Background()
	url := srv.URL + "/m.gguf"

	_, err := st.Resolve(ctx, url, ResolveOptions{Offline: true})
	var ce *Error
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, CodeNotFound, ce.Code)
	assert.Empty(t, fs.requests(), "offline must not touch the network")

	want, err := st.Resolve(ctx, url, ResolveOptions{})
	require.NoError(t, err)
	n := len(fs.requests())
	got, err := st.Resolve(ctx, url, ResolveOptions{Offline: true, Revalidate: true})
	require.NoError(t, err)
	assert.Equal(t, want.Path, got.Path)
	assert.Len(t, fs.requests(), n, "offline skips revalidation")
}

func TestAcquireBlob(t *testing.T) {
	data := realModel(t)
	srv := httptest.NewServer(&faultServer{data: data, etag: `"v1"`})
	defer srv.Close()
	st := newStore(t)
	ctx := context.Background()
	res, err := st.Resolve(ctx, srv.URL+"/m.gguf", ResolveOptions{})
	require.NoError(t, err)

	// Not a blob: no lease, no error.
	other := filepath.Join(t.TempDir(), "m.gguf")
	require.NoError(t, os.WriteFile(other, data, 0o644))
	l, ok, err := AcquireBlob(other)
	require.NoError(t, err)
	assert.False(t, ok)
	assert.Nil(t, l)

	// A blob, reached through a relative path: leased, so Remove refuses.
	wd, err := os.Getwd()
	require.NoError(t, err)
	rel, err := filepath.Rel(wd, res.Path)
	require.NoError(t, err)
	l, ok, err = AcquireBlob(rel)
	require.NoError(t, err)
	require.True(t, ok)
	require.Error(t, st.Remove(ctx, res.SHA256))
	removed, err := st.Prune(ctx, 1)
	require.NoError(t, err)
	assert.Empty(t, removed)
	require.NoError(t, l.Release())
	require.NoError(t, st.Remove(ctx, res.SHA256))

	// A removed blob: no lease (the loader reports the missing file).
	_, ok, err = AcquireBlob(res.Path)
	require.NoError(t, err)
	assert.False(t, ok)
}

func TestResolveLocalFileDigestMemo(t *testing.T) {
	data := realModel(t)
	st := newStore(t)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "m.gguf")
	require.NoError(t, os.WriteFile(path, data, 0o644))

	res, err := st.Resolve(ctx, path, ResolveOptions{})
	require.NoError(t, err)
	assert.Equal(t, path, res.Path, "a local path resolves to itself")
	assert.Empty(t, res.SHA256, "no digest is computed unless asked")

	res, err = st.Resolve(ctx, path, ResolveOptions{SHA256: digestOf(data)})
	require.NoError(t, err)
	assert.Equal(t, digestOf(data), res.SHA256)

	// The memo is keyed by size and mtime: rewriting the content with the
	// same size and mtime keeps the memo (by design), a new mtime drops it.
	changed := append([]byte(nil), data...)
	changed[10] ^= 1
	require.NoError(t, os.WriteFile(path, changed, 0o644))
	later := time.Now().Add(time.Hour)
	require.NoError(t, os.Chtimes(path, later, later))
	_, err = st.Resolve(ctx, path, ResolveOptions{SHA256: digestOf(data)})
	var ce *Error
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, CodeDigestMismatch, ce.Code)
	got, err := st.FileDigest(ctx, path)
	require.NoError(t, err)
	assert.Equal(t, digestOf(changed), got)

	_, err = st.Resolve(ctx, filepath.Join(t.TempDir(), "missing.gguf"), ResolveOptions{})
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, CodeNotFound, ce.Code)
}
