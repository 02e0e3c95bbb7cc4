package hearth

import (
	"errors"
	"fmt"
)

// Stable error codes carried by *Error. The C ABI and the Node package
// expose them unchanged.
const (
	CodeBadModel        = "HEARTH_BAD_MODEL"        // the file is not a usable GGUF model
	CodeNotFound        = "HEARTH_NOT_FOUND"        // the model file does not exist
	CodeContextOverflow = "HEARTH_CONTEXT_OVERFLOW" // the prompt does not fit in the context
	CodeInvalidOption   = "HEARTH_INVALID_OPTION"   // an option is out of range; the message names it
	CodeGPUUnavailable  = "HEARTH_GPU_UNAVAILABLE"  // the GPU backend cannot run here
	CodeBusy            = "HEARTH_BUSY"             // the model is in use
	CodeClosed          = "HEARTH_CLOSED"           // the model was closed
	CodeInternal        = "HEARTH_INTERNAL"         // a bug or an unexpected failure
	CodeIO              = "HEARTH_IO"               // reading or writing a file failed
)

// Error is an error with a stable code.
type Error struct {
	Code string // one of the Code* constants
	Msg  string // human-readable description
	Err  error  // the underlying error, may be nil
}

// Error returns Msg, followed by ": " and the underlying error when there is one.
func (e *Error) Error() string {
	if e.Err != nil {
		return e.Msg + ": " + e.Err.Error()
	}
	return e.Msg
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// CodeOf returns the code of the first *Error in err's chain, CodeInternal
// when there is none, and "" for a nil error.
func CodeOf(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// newError returns an *Error with a formatted message.
func newError(code string, err error, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...), Err: err}
}

// invalidOption returns a CodeInvalidOption error naming option.
func invalidOption(option, format string, args ...any) *Error {
	return &Error{Code: CodeInvalidOption, Msg: "invalid option " + option + ": " + fmt.Sprintf(format, args...)}
}
