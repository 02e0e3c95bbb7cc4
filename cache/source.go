package cache

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
)

// IsRemote reports whether source names something to download (an http(s)
// URL or an hf: reference) rather than a local path.
func IsRemote(source string) bool {
	return strings.HasPrefix(source, "http://") || strings.HasPrefix(source, "https://") ||
		strings.HasPrefix(source, "hf:")
}

// ResolveURL turns a source into the URL to download. "hf:owner/repo/path/file.gguf"
// becomes Hugging Face's resolve URL for the main revision, and
// "hf:owner/repo@rev/path/file.gguf" pins a revision. http(s) URLs are returned
// as they are.
func ResolveURL(source string) (string, error) {
	if strings.HasPrefix(source, "http://") || strings.HasPrefix(source, "https://") {
		u, err := url.Parse(source)
		if err != nil || u.Host == "" {
			return "", &Error{Code: CodeInvalidSource, Msg: fmt.Sprintf("cache: invalid URL %q", source)}
		}
		return source, nil
	}
	rest, ok := strings.CutPrefix(source, "hf:")
	if !ok {
		return "", &Error{Code: CodeInvalidSource, Msg: fmt.Sprintf("cache: %q is not an http(s) URL or hf: reference", source)}
	}
	parts := strings.SplitN(rest, "/", 3)
	if len(parts) < 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return "", &Error{Code: CodeInvalidSource, Msg: fmt.Sprintf("cache: %q: want hf:owner/repo/file.gguf", source)}
	}
	repo, rev := parts[1], "main"
	if i := strings.IndexByte(repo, '@'); i >= 0 {
		repo, rev = repo[:i], repo[i+1:]
		if repo == "" || rev == "" {
			return "", &Error{Code: CodeInvalidSource, Msg: fmt.Sprintf("cache: %q: empty repo or revision", source)}
		}
	}
	for _, p := range strings.Split(parts[2], "/") {
		if p == "" || p == "." || p == ".." {
			return "", &Error{Code: CodeInvalidSource, Msg: fmt.Sprintf("cache: %q: bad file path", source)}
		}
	}
	return fmt.Sprintf("https://huggingface.co/%s/%s/resolve/%s/%s",
		url.PathEscape(parts[0]), url.PathEscape(repo), url.PathEscape(rev), parts[2]), nil
}

// sourceKey names the per-source lock and partial-download files.
func sourceKey(source string) string {
	h := sha256.Sum256([]byte(source))
	return hex.EncodeToString(h[:16])
}

// validDigest reports whether s is a lower-case hex SHA-256 digest.
func validDigest(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// serverDigest extracts a SHA-256 the server vouches for: Hugging Face sends
// the LFS object id (the file's SHA-256) as X-Linked-Etag, and as ETag on the
// final response. Weak or non-digest ETags give "".
func serverDigest(linkedETag, etag string) string {
	for _, v := range []string{linkedETag, etag} {
		v = strings.TrimPrefix(v, "W/")
		v = strings.ToLower(strings.Trim(v, `"`))
		if validDigest(v) {
			return v
		}
	}
	return ""
}
