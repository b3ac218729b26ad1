package emulator

// Writing answers: the status-recording and slow writers, text errors, JSON bodies and
// streamed JSON lists.

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"time"
)

type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// slowWriter pauses after every 4 KiB, for slow-body faults.
type slowWriter struct {
	w     *statusWriter
	pause time.Duration
}

func (s *slowWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		n := min(len(p), 4096)
		m, err := s.w.Write(p[:n])
		written += m
		if err != nil {
			return written, err
		}
		s.w.Flush()
		time.Sleep(s.pause)
		p = p[n:]
	}
	return written, nil
}

func textError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, msg)
}

// response is what a route produced: a status with a text body, or a JSON body writer.
type response struct {
	status int
	text   string
	body   func(io.Writer) error
}

func notFound() response { return response{status: http.StatusNotFound, text: "Not Found"} }

func jsonBody(v any) response {
	return response{status: http.StatusOK, body: func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		return enc.Encode(v)
	}}
}

// jsonList writes a JSON array element by element.
func jsonList[T any](items []T) response {
	return response{status: http.StatusOK, body: func(w io.Writer) error {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if _, err := io.WriteString(w, "["); err != nil {
			return err
		}
		for i := range items {
			buf.Reset()
			if err := enc.Encode(&items[i]); err != nil {
				return err
			}
			if i > 0 {
				if _, err := io.WriteString(w, ","); err != nil {
					return err
				}
			}
			if _, err := w.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n"))); err != nil {
				return err
			}
		}
		_, err := io.WriteString(w, "]")
		return err
	}}
}

func badRequest(err error) response {
	return response{status: http.StatusBadRequest, text: err.Error()}
}
