package cache

// Error codes, shared with the hearth package and the Node API.
const (
	CodeDigestMismatch = "HEARTH_DIGEST_MISMATCH"
	CodeDownload       = "HEARTH_DOWNLOAD"
	CodeInvalidSource  = "HEARTH_INVALID_OPTION"
	CodeNotFound       = "HEARTH_NOT_FOUND"
	CodeIO             = "HEARTH_IO"
	CodeAborted        = "HEARTH_ABORTED"
)

// Error is a cache failure with a stable code.
type Error struct {
	Code string // one of the Code constants
	Msg  string
	Err  error // the cause, if any
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Msg + ": " + e.Err.Error()
	}
	return e.Msg
}

func (e *Error) Unwrap() error { return e.Err }
