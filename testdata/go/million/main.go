// million: a Go program that parks N goroutines (default 1,000,000) the
// way a busy gateway does, for bench/million.sh: threadleak, the
// program's own goroutine dumps and Delve, measured on the same process.
// Standard library only; builds with Go 1.19 and later (the pause
// metrics below need Go 1.22: on older ones they read as unknown).
//
// The goroutines are spread over eight distinct stacks, each two or three
// calls deep under its own function, round robin:
//
//	connHandler   readRequest   <-ch on a channel nobody sends on   chan receive
//	poolWorker    waitJob       select on a job channel and a quit   select
//	sessionUpdate lockShard     sync.Mutex.Lock on one of 64 mutexes main holds   sync.Mutex.Lock
//	retryLoop     backoff       time.Sleep(time.Hour)                sleep
//	streamReader  readFrame     Read on a net.Pipe nobody writes     select (net.Pipe is channels)
//	pipeReader    readPipe      Read on an os.Pipe nobody writes     IO wait
//	notifyWaiter  waitEvent     sync.Cond.Wait never signalled       sync.Cond.Wait
//	rateLimited   acquire       send on a full buffered channel      chan send
//
// pipeReader takes one pipe (two descriptors) each: there are at most
// -pipes of them (default 4096, and at most a quarter of the descriptor
// limit): its share beyond that goes to the other seven.
//
// Besides them: main (parked in select{}), a ticker goroutine
// (pauseWatcher, every 10 ms) that keeps the largest gap between two of
// its ticks, and an HTTP server on a loopback port (printed as
// "http ADDR") with:
//
//	/debug/pprof/...   net/http/pprof, as a real service has it
//	/gap               "gap_ms G": the largest tick gap since the last
//	                   /gap (or ready), then starts a new window
//	/dump?debug=D      the goroutine profile at debug=D (1 grouped, 2 every
//	                   goroutine; pprof.Lookup("goroutine").WriteTo) into
//	                   a writer that counts it and keeps nothing:
//	                   "ms M cpu_ms C bytes B goroutines G pauses K
//	                   pause_max_ms P pause_total_ms T gap_ms X"
//	/stack             the same for runtime.Stack(buf, true) into a buffer
//	                   made big enough beforehand: debug=2 without
//	                   pprof's 64 MiB cap (pprof's debug=2 calls it with 1
//	                   MiB, then 2, 4 ... 64 MiB, each call a stop of the
//	                   world, and keeps a truncated dump past that)
//
// ms is the wall time of the call alone, measured in the program around
// it; cpu_ms the CPU time (user and system) of the whole process over
// it (getrusage: the call's, and the little the rest of the program
// used meanwhile); goroutines is the number the dump lists (debug=1: its "total N"
// header; 2 and /stack: its "goroutine N [" lines); pauses, pause_max_ms
// and pause_total_ms are the runtime's own stop-the-world pauses (other
// than the GC's) that ended during the call, from runtime/metrics
// /sched/pauses/total/other:seconds (a histogram: the longest is the
// upper bound of its bucket, the total adds each bucket's middle; -1 where
// the runtime lacks the metric); gap_ms is pauseWatcher's largest gap
// over the call (10 ms when nothing stopped the program).
//
// Output on stdout: "pid PID", "http ADDR", then "ready G" (G goroutines
// in all) once every goroutine is started and, where the runtime counts
// them (Go 1.26: /sched/goroutines/runnable), none is left runnable.
// Errors on stderr, exit 1; a bad flag exits 2.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	_ "net/http/pprof" // registers /debug/pprof/ on http.DefaultServeMux
	"os"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Kept reachable: the far ends of the pipes, so that no read ends.
var (
	keepFiles []*os.File
	keepConns []net.Conn
)

//go:noinline
func readRequest(ch chan []byte) []byte { return <-ch }

//go:noinline
func connHandler(ch chan []byte) { readRequest(ch) }

//go:noinline
func waitJob(jobs chan func(), quit chan struct{}) func() {
	select {
	case j := <-jobs:
		return j
	case <-quit:
		return nil
	}
}

//go:noinline
func poolWorker(jobs chan func(), quit chan struct{}) { waitJob(jobs, quit) }

var shards [64]sync.Mutex

//go:noinline
func lockShard(i int) { shards[i%len(shards)].Lock() }

//go:noinline
func sessionUpdate(i int) { lockShard(i) }

//go:noinline
func backoff(d time.Duration) { time.Sleep(d) }

//go:noinline
func retryLoop() { backoff(time.Hour) }

//go:noinline
func readFrame(c net.Conn) {
	var b [16]byte
	c.Read(b[:])
}

//go:noinline
func streamReader(c net.Conn) { readFrame(c) }

//go:noinline
func readPipe(f *os.File) {
	var b [16]byte
	f.Read(b[:])
}

//go:noinline
func pipeReader(f *os.File) { readPipe(f) }

var (
	evMu   sync.Mutex
	evCond = sync.NewCond(&evMu)
)

//go:noinline
func waitEvent() {
	evMu.Lock()
	evCond.Wait()
	evMu.Unlock()
}

//go:noinline
func notifyWaiter() { waitEvent() }

var limiter = make(chan struct{}, 1)

//go:noinline
func acquire() { limiter <- struct{}{} }

//go:noinline
func rateLimited() { acquire() }

// pauseWatcher ticks every 10 ms and keeps the largest gap between two
// ticks in maxGap (nanoseconds).
var maxGap int64

func pauseWatcher() {
	t := time.NewTicker(10 * time.Millisecond)
	last := time.Now()
	for range t.C {
		now := time.Now()
		gap := int64(now.Sub(last))
		last = now
		for {
			old := atomic.LoadInt64(&maxGap)
			if gap <= old || atomic.CompareAndSwapInt64(&maxGap, old, gap) {
				break
			}
		}
	}
}

// takeGap: the largest gap since the last call, in ms; a new window starts.
func takeGap() float64 {
	return float64(atomic.SwapInt64(&maxGap, 0)) / 1e6
}

const pauseMetric = "/sched/pauses/total/other:seconds"

func pauses() *metrics.Float64Histogram {
	s := []metrics.Sample{{Name: pauseMetric}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindFloat64Histogram {
		return nil
	}
	return s[0].Value.Float64Histogram()
}

// pauseDelta: the pauses between two readings of the histogram: how
// many, the longest (its bucket's upper bound) and their total (each
// bucket's middle), in ms; -1s where the metric is missing.
func pauseDelta(a, b *metrics.Float64Histogram) (n uint64, maxMs, totalMs float64) {
	if a == nil || b == nil {
		return 0, -1, -1
	}
	for i := range b.Counts {
		d := b.Counts[i] - a.Counts[i]
		if d == 0 {
			continue
		}
		lo, hi := b.Buckets[i], b.Buckets[i+1]
		if hi > 1e9 { // +Inf
			hi = lo
		}
		if lo < 0 {
			lo = 0
		}
		n += d
		maxMs = hi * 1e3
		totalMs += float64(d) * (lo + hi) / 2 * 1e3
	}
	return n, maxMs, totalMs
}

// counter keeps nothing of what is written: its size, and the lines that
// begin with "goroutine " (a goroutine's header at debug=2); the first
// bytes are kept for debug=1's "goroutine profile: total N".
type counter struct {
	bytes  int64
	lines  int64
	tail   []byte
	header []byte
}

var goHeader = []byte("\ngoroutine ")

func (c *counter) Write(p []byte) (int, error) {
	if c.bytes == 0 {
		c.tail = []byte{'\n'}
	}
	if len(c.header) < 64 {
		n := 64 - len(c.header)
		if n > len(p) {
			n = len(p)
		}
		c.header = append(c.header, p[:n]...)
	}
	c.bytes += int64(len(p))
	// a header split over two writes: the last bytes of the one before
	// joined to the first of this one
	head := p
	if len(head) > len(goHeader) {
		head = head[:len(goHeader)]
	}
	joint := append(append([]byte{}, c.tail...), head...)
	c.lines += int64(bytes.Count(joint, goHeader))
	c.lines += int64(bytes.Count(p, goHeader))
	// those wholly inside p's first bytes were counted twice
	c.lines -= int64(bytes.Count(head, goHeader))
	t := p
	if len(t) > len(goHeader)-1 {
		t = t[len(t)-(len(goHeader)-1):]
	}
	c.tail = append(c.tail[:0], t...)
	return len(p), nil
}

func (c *counter) goroutines(debug int) int64 {
	if debug == 1 {
		var n int64
		if _, err := fmt.Sscanf(string(c.header), "goroutine profile: total %d", &n); err == nil {
			return n
		}
		return -1
	}
	return c.lines
}

// cpuMs: the CPU time of the process so far, user and system, in ms
func cpuMs() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e6
}

// measure runs f, which writes a dump to c, and writes the line that
// tells of it to w.
func measure(w io.Writer, c *counter, debug int, f func() error) error {
	takeGap()
	before := pauses()
	cpu0 := cpuMs()
	t0 := time.Now()
	err := f()
	ms := float64(time.Since(t0)) / 1e6
	cpu := cpuMs() - cpu0
	after := pauses()
	gap := takeGap()
	if err != nil {
		return err
	}
	n, pmax, ptotal := pauseDelta(before, after)
	_, err = fmt.Fprintf(w, "ms %.1f cpu_ms %.0f bytes %d goroutines %d pauses %d pause_max_ms %.2f pause_total_ms %.2f gap_ms %.1f\n",
		ms, cpu, c.bytes, c.goroutines(debug), n, pmax, ptotal, gap)
	return err
}

var (
	dumpMu   sync.Mutex
	stackBuf []byte
)

func handleDump(w http.ResponseWriter, r *http.Request) {
	debug, err := strconv.Atoi(r.URL.Query().Get("debug"))
	if err != nil || debug < 1 || debug > 2 {
		http.Error(w, "debug=1 or debug=2", http.StatusBadRequest)
		return
	}
	dumpMu.Lock()
	defer dumpMu.Unlock()
	c := &counter{}
	var out bytes.Buffer
	err = measure(&out, c, debug, func() error {
		return pprof.Lookup("goroutine").WriteTo(c, debug)
	})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Write(out.Bytes())
}

// handleStack: runtime.Stack of every goroutine into a buffer made (and
// its pages touched) before the clock starts, 2 KiB a goroutine at first;
// one found too small is doubled and the call made again, timed afresh.
func handleStack(w http.ResponseWriter, r *http.Request) {
	dumpMu.Lock()
	defer dumpMu.Unlock()
	for {
		if want := runtime.NumGoroutine()*2048 + 1<<20; len(stackBuf) < want {
			stackBuf = make([]byte, want)
		}
		for i := 0; i < len(stackBuf); i += 4096 {
			stackBuf[i] = 1
		}
		var n int
		c := &counter{}
		var out bytes.Buffer
		measure(&out, c, 2, func() error {
			n = runtime.Stack(stackBuf, true)
			c.Write(stackBuf[:n])
			return nil
		})
		if n < len(stackBuf) {
			w.Write(out.Bytes())
			return
		}
		stackBuf = make([]byte, 2*len(stackBuf))
	}
}

func handleGap(w http.ResponseWriter, r *http.Request) {
	fmt.Fprintf(w, "gap_ms %.1f\n", takeGap())
}

func fail(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "million: "+format+"\n", a...)
	os.Exit(1)
}

// settled: no goroutine runnable, where the runtime says so; ok false
// where it does not count them.
func settled() (quiet, ok bool) {
	s := []metrics.Sample{{Name: "/sched/goroutines/runnable:goroutines"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return false, false
	}
	return s[0].Value.Uint64() == 0, true
}

func main() {
	n := flag.Int("n", 1000000, "goroutines to park")
	maxPipes := flag.Int("pipes", 4096, "at most this many pipeReaders (two descriptors each)")
	flag.Parse()
	if *n < 0 || *maxPipes < 0 || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: million [-n N] [-pipes P]")
		os.Exit(2)
	}
	fmt.Printf("pid %d\n", os.Getpid())

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail("listen: %v", err)
	}
	http.HandleFunc("/gap", handleGap)
	http.HandleFunc("/dump", handleDump)
	http.HandleFunc("/stack", handleStack)
	go http.Serve(ln, nil)
	fmt.Printf("http %s\n", ln.Addr())
	go pauseWatcher()

	// pipes: an eighth of the goroutines, within the descriptor limit
	// (Go raises the soft limit to the hard one at start)
	pipes := *n / 8
	var rl syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) == nil && uint64(pipes) > rl.Cur/4 {
		pipes = int(rl.Cur / 4)
	}
	if pipes > *maxPipes {
		pipes = *maxPipes
	}
	for i := 0; i < pipes; i++ {
		r, w, err := os.Pipe()
		if err != nil {
			fail("pipe %d: %v", i, err)
		}
		keepFiles = append(keepFiles, w)
		go pipeReader(r)
	}

	for i := range shards {
		shards[i].Lock()
	}
	limiter <- struct{}{}
	quit := make(chan struct{})
	jobs := make(chan func())
	for i := 0; i < *n-pipes; i++ {
		switch i % 7 {
		case 0:
			go connHandler(make(chan []byte))
		case 1:
			go poolWorker(jobs, quit)
		case 2:
			go sessionUpdate(i)
		case 3:
			go retryLoop()
		case 4:
			a, b := net.Pipe()
			keepConns = append(keepConns, b)
			go streamReader(a)
		case 5:
			go notifyWaiter()
		case 6:
			go rateLimited()
		}
	}

	// ready: every goroutine counted (main, the ticker, the server and
	// its accept loop besides them) and, where the runtime counts them,
	// none runnable for three readings in a row
	want := *n + 3
	deadline := time.Now().Add(10 * time.Minute)
	for quiet := 0; quiet < 3; {
		if time.Now().After(deadline) {
			fail("not settled after 10 minutes: %d goroutines", runtime.NumGoroutine())
		}
		time.Sleep(100 * time.Millisecond)
		if runtime.NumGoroutine() < want {
			continue
		}
		q, ok := settled()
		if !ok {
			time.Sleep(2 * time.Second)
			break
		}
		if q {
			quiet++
		} else {
			quiet = 0
		}
	}
	takeGap()
	fmt.Printf("ready %d\n", runtime.NumGoroutine())
	select {}
}
