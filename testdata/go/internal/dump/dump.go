// Package dump: what the test programs of testdata/go share to give their
// own goroutine dumps as the tests' oracle: a profile written whole, and
// whether every goroutine has settled into its wait.  Standard library
// only; builds with Go 1.19 and later.
package dump

import (
	"bufio"
	"bytes"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
)

// Write writes the goroutine profile at debug level (0: gzipped
// profile.proto, 1: grouped, 2: one goroutine each) to path.tmp and
// renames it to path, so that a reader never sees half a file.  An empty
// path writes nothing.
func Write(path string, debug int) error {
	if path == "" {
		return nil
	}
	f, err := os.Create(path + ".tmp")
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	err = pprof.Lookup("goroutine").WriteTo(w, debug)
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(path+".tmp", path)
	}
	return err
}

// Settled: no goroutine but the caller is runnable or running, from the
// headers of runtime.Stack, except those whose stack names one of busy
// (goroutines that run all the time, or every few milliseconds).
func Settled(busy ...string) bool {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	blocks := bytes.Split(buf, []byte("\n\n"))
	for _, b := range blocks[1:] { // the first one is the caller's
		header := string(b[:bytes.IndexByte(append(b, '\n'), '\n')])
		if !strings.Contains(header, " [runnable") && !strings.Contains(header, " [running") {
			continue
		}
		excused := false
		for _, fn := range busy {
			excused = excused || bytes.Contains(b, []byte(fn))
		}
		if !excused {
			return false
		}
	}
	return true
}
