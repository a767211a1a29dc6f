// leaky: a Go program whose goroutines leak in every common way, for
// threadleak's goroutine reader and its oracle (tests/go-oracle.py).  It
// uses the standard library only and builds with Go 1.19 through 1.26.
//
// Each leak kind is its own named function, started -n times (default 3);
// the runtime's wait reason each one shows is in the comment beside it:
//
//	leakChanSend       send on a channel nobody receives from   chan send
//	                   (through sendValue, which is inlined)
//	leakChanRecv       receive from a channel nobody sends on   chan receive
//	leakNilChanRecv    receive from a nil channel               chan receive (nil chan)
//	leakRange          range over a channel nobody closes       chan receive
//	leakMutex          a sync.Mutex locked twice                sync.Mutex.Lock (1.19: semacquire)
//	leakSharedMutex    Lock on one mutex main holds forever     sync.Mutex.Lock (1.19: semacquire)
//	leakWaitGroup      WaitGroup.Wait with a Done missing       sync.WaitGroup.Wait (before 1.25: semacquire)
//	leakSelectNoCases  select {}                                select (no cases)
//	leakSelect         select on two channels nobody uses       select
//	leakSleep          time.Sleep(time.Hour)                    sleep
//	leakTCPRead        read from a loopback TCP connection whose peer never writes   IO wait
//	leakPipeRead       read from an os.Pipe nobody writes to    IO wait
//
// and an HTTP server on 127.0.0.1:0 (printed as "http ADDR") whose handler
// for /leak starts two requestWorkers that send on one unbuffered channel
// and takes one reply: one requestWorker per request stays in chan send,
// with the pprof labels {"handler":"leak", "route":"/leak"}.
//
// Not leaks, and not counted as such: main (select on signals), the
// os/signal loop, the HTTP server's accept loop (IO wait), pauseWatcher (a
// 10 ms ticker that records the largest gap between two ticks it received:
// a stop-the-world pause shows as a gap), and, when asked for, the pprof
// server and the grower.
//
// Flags:
//
//	-n N          goroutines of each leak kind (default 3)
//	-requests K   the program sends K requests to its own /leak at start:
//	              K requestWorkers leak
//	-grow DUR     after ready, one more request every DUR (default off),
//	              so that a live view sees the leak grow
//	-many M       M more goroutines parked in a chan receive, all in
//	              manyWaiter (for the 100,000-goroutine benchmark)
//	-labelled     goroutines on one stack, labelWorker, with different
//	              pprof label sets (labelSets below: none, an empty set,
//	              one and two labels, twelve (a map of two buckets up to
//	              Go 1.23), keys and values that need quoting, then four
//	              more sets of one goroutine: ten sets with labels, more
//	              than serve names)
//	-exit         main returns right after ready (for `threadleak check`)
//	-pprof ADDR   serve net/http/pprof on ADDR, a loopback address
//	              (127.0.0.1:0 picks a port); printed as "pprof ADDR"
//	-dump1 PATH   where SIGUSR1 writes the goroutine profile at debug=1
//	-dump2 PATH   where SIGUSR1 writes the goroutine profile at debug=2
//	-dump0 PATH   where SIGUSR1 writes the goroutine profile at debug=0
//	              (gzipped profile.proto), first
//
// Output on stdout, one line each: "pid PID", "http ADDR", "pprof ADDR"
// (with -pprof), "tcpleak ADDR" (the listener leakTCPRead's connections
// were made to: their peer), "mutex ADDR" (the address of the mutex
// leakSharedMutex's goroutines wait for), "expect FUNCTION COUNT" for every leak function (the
// goroutines in it at ready, e.g. "expect main.leakChanSend 3"), then
// "ready" once every goroutine is started (runtime.NumGoroutine() is the
// count expected) and parked (none of them runnable in runtime.Stack).
//
// Signals:
//
//	SIGUSR1  once no goroutine is runnable (the os/signal loop back in its
//	         wait; at most 30 s: a loaded machine may take a while), write the dumps (each written to PATH.tmp
//	         and renamed to PATH, so a reader never sees half a file), then
//	         print "dumped"
//	SIGUSR2  print "maxgap NANOSECONDS": the largest gap pauseWatcher saw
//	         between two ticks (10 ms apart when nothing stops the world)
//	         since ready or the last SIGUSR2
//
// Anything that goes wrong is printed on stderr and the exit status is 1;
// 2 for a bad flag.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	_ "net/http/pprof" // registers /debug/pprof/ on http.DefaultServeMux
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"syscall"
	"threadleak.test/testdata/internal/dump"
	"time"
)

// Kept reachable so that nothing is collected or closed: the far ends of
// the leaked connections and pipes, and the listener of the TCP leak.
var (
	keepConns []net.Conn
	keepFiles []*os.File
)

// sendValue is small enough to be inlined into leakChanSend: its frame is
// an inlined one, which a reader must expand from the inline tree.
func sendValue(ch chan<- int, v int) {
	ch <- v
}

//go:noinline
func leakChanSend(ch chan int) {
	sendValue(ch, 1)
}

//go:noinline
func leakChanRecv(ch chan int) {
	<-ch
}

//go:noinline
func leakNilChanRecv(ch chan int) {
	<-ch // ch is nil
}

//go:noinline
func leakRange(ch chan int) {
	n := 0
	for v := range ch {
		n += v
	}
	fmt.Fprintln(os.Stderr, "leakRange: the channel was closed", n)
}

//go:noinline
func leakMutex() {
	var mu sync.Mutex
	mu.Lock()
	mu.Lock()
}

// sharedMu is locked by main and never unlocked.
var sharedMu sync.Mutex

//go:noinline
func leakSharedMutex() {
	sharedMu.Lock()
}

//go:noinline
func leakWaitGroup() {
	var wg sync.WaitGroup
	wg.Add(1)
	wg.Wait()
}

//go:noinline
func leakSelectNoCases() {
	select {}
}

//go:noinline
func leakSelect(a, b chan int) {
	select {
	case <-a:
	case b <- 1:
	}
}

//go:noinline
func leakSleep() {
	time.Sleep(time.Hour)
}

//go:noinline
func leakTCPRead(c net.Conn) {
	var buf [64]byte
	n, err := c.Read(buf[:])
	fmt.Fprintln(os.Stderr, "leakTCPRead: read returned", n, err)
}

//go:noinline
func leakPipeRead(r *os.File) {
	var buf [64]byte
	n, err := r.Read(buf[:])
	fmt.Fprintln(os.Stderr, "leakPipeRead: read returned", n, err)
}

// requestWorker is what the /leak handler starts twice per request; the
// handler takes one reply, so the other worker stays in chan send.
//
//go:noinline
func requestWorker(reply chan<- string, name string) {
	reply <- name
}

// handleLeak serves /leak: it leaks one requestWorker per request, with
// pprof labels that the workers inherit.
func handleLeak(w http.ResponseWriter, r *http.Request) {
	pprof.SetGoroutineLabels(pprof.WithLabels(r.Context(),
		pprof.Labels("handler", "leak", "route", "/leak")))
	defer pprof.SetGoroutineLabels(r.Context())
	reply := make(chan string)
	for _, name := range []string{"first", "second"} {
		// one go statement: the leaked worker, whichever it is, was
		// created at the same line
		go requestWorker(reply, name)
	}
	fmt.Fprintln(w, <-reply)
}

// labelWorker waits for ever; -labelled starts it with each label set of
// labelSets (nil: no labels at all), so that pprof's debug=1 shows one
// group per set on the same stack.
//
//go:noinline
func labelWorker(ch chan int) {
	<-ch
}

var labelSets = []struct {
	count  int
	labels []string
}{
	{1, nil},
	{1, []string{}},
	{3, []string{"tenant", "a"}},
	{2, []string{"tenant", "b", "job", "x"}},
	{1, []string{"k00", "0", "k01", "1", "k02", "2", "k03", "3", "k04", "4", "k05", "5",
		"k06", "6", "k07", "7", "k08", "8", "k09", "9", "k10", "10", "k11", "11"}},
	{1, []string{"a", "1", "a!", "2", "quote\"", "tab\tnl\n\x01\x7f",
		"ünï", "é\u200b\u00a0", "empty", ""}},
	{1, []string{"tenant", "c"}},
	{1, []string{"tenant", "d"}},
	{1, []string{"tenant", "e"}},
	{1, []string{"tenant", "f"}},
}

// startLabelled starts n labelWorkers with the labels (key, value, ...).
func startLabelled(ch chan int, n int, labels []string) {
	if labels == nil {
		for i := 0; i < n; i++ {
			go labelWorker(ch)
		}
		return
	}
	pprof.Do(context.Background(), pprof.Labels(labels...), func(context.Context) {
		for i := 0; i < n; i++ {
			go labelWorker(ch)
		}
	})
}

//go:noinline
func manyWaiter(ch chan int) {
	<-ch
}

// pauseWatcher ticks every 10 ms and keeps the largest gap between two
// ticks it received in maxGap (nanoseconds).
func pauseWatcher(maxGap *int64) {
	t := time.NewTicker(10 * time.Millisecond)
	last := time.Now()
	for range t.C {
		now := time.Now()
		gap := int64(now.Sub(last))
		last = now
		for {
			old := atomic.LoadInt64(maxGap)
			if gap <= old || atomic.CompareAndSwapInt64(maxGap, old, gap) {
				break
			}
		}
	}
}

// grower sends one more request every period, for ever.
func grower(client *http.Client, url string, period time.Duration) {
	for {
		time.Sleep(period)
		if err := request(client, url); err != nil {
			fmt.Fprintln(os.Stderr, "leaky: grow:", err)
		}
	}
}

func request(client *http.Client, url string) error {
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return nil
}

func die(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "leaky: "+format+"\n", args...)
	os.Exit(1)
}

// listenLoopback listens on addr, which must be a loopback address.
func listenLoopback(addr string) net.Listener {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		die("%s: %v", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		die("%s: not a loopback address", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		die("%v", err)
	}
	return ln
}

func main() {
	n := flag.Int("n", 3, "goroutines of each leak kind")
	requests := flag.Int("requests", 0, "requests to send to the own /leak at start")
	grow := flag.Duration("grow", 0, "after ready, one more request every `DUR` (0: off)")
	many := flag.Int("many", 0, "extra goroutines parked in a chan receive (manyWaiter)")
	exit := flag.Bool("exit", false, "return from main right after ready")
	labelled := flag.Bool("labelled", false, "labelWorkers with different pprof label sets")
	pprofAddr := flag.String("pprof", "", "serve net/http/pprof on this loopback `ADDR`")
	dump1 := flag.String("dump1", "", "SIGUSR1 writes the debug=1 goroutine profile to `PATH`")
	dump2 := flag.String("dump2", "", "SIGUSR1 writes the debug=2 goroutine profile to `PATH`")
	dump0 := flag.String("dump0", "", "SIGUSR1 writes the debug=0 goroutine profile (proto) to `PATH`, first")
	flag.Parse()
	if flag.NArg() > 0 || *n < 0 || *requests < 0 || *many < 0 || *grow < 0 {
		flag.Usage()
		os.Exit(2)
	}

	fmt.Printf("pid %d\n", os.Getpid())
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGUSR1, syscall.SIGUSR2)

	// Not leaks: main, the os/signal loop (started by Notify), these.
	want := 2
	var maxGap int64
	go pauseWatcher(&maxGap)
	want++

	ln := listenLoopback("127.0.0.1:0")
	mux := http.NewServeMux()
	mux.HandleFunc("/leak", handleLeak)
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	want++
	url := "http://" + ln.Addr().String() + "/leak"
	fmt.Printf("http %s\n", ln.Addr())

	if *pprofAddr != "" {
		pln := listenLoopback(*pprofAddr)
		go http.Serve(pln, nil)
		want++
		fmt.Printf("pprof %s\n", pln.Addr())
	}

	// The leaks.
	expect := []struct {
		name  string
		count int
	}{}
	leak := func(name string, count int) {
		expect = append(expect, struct {
			name  string
			count int
		}{name, count})
		want += count
	}
	var nilChan chan int
	tcp := listenLoopback("127.0.0.1:0")
	fmt.Printf("tcpleak %s\n", tcp.Addr())
	sharedMu.Lock()
	fmt.Printf("mutex %p\n", &sharedMu)
	for i := 0; i < *n; i++ {
		go leakChanSend(make(chan int))
		go leakChanRecv(make(chan int))
		go leakNilChanRecv(nilChan)
		go leakRange(make(chan int))
		go leakMutex()
		go leakSharedMutex()
		go leakWaitGroup()
		go leakSelectNoCases()
		go leakSelect(make(chan int), make(chan int))
		go leakSleep()

		c, err := net.Dial("tcp", tcp.Addr().String())
		if err != nil {
			die("dial %s: %v", tcp.Addr(), err)
		}
		s, err := tcp.Accept()
		if err != nil {
			die("accept: %v", err)
		}
		keepConns = append(keepConns, c, s)
		go leakTCPRead(c)

		r, w, err := os.Pipe()
		if err != nil {
			die("pipe: %v", err)
		}
		keepFiles = append(keepFiles, r, w)
		go leakPipeRead(r)
	}
	tcp.Close()
	for _, name := range []string{"leakChanSend", "leakChanRecv",
		"leakNilChanRecv", "leakRange", "leakMutex", "leakSharedMutex", "leakWaitGroup",
		"leakSelectNoCases", "leakSelect", "leakSleep", "leakTCPRead",
		"leakPipeRead"} {
		leak("main."+name, *n)
	}

	client := &http.Client{
		Transport: &http.Transport{DisableKeepAlives: true},
		Timeout:   10 * time.Second,
	}
	for i := 0; i < *requests; i++ {
		if err := request(client, url); err != nil {
			die("request %d: %v", i+1, err)
		}
	}
	leak("main.requestWorker", *requests)

	manyCh := make(chan int)
	for i := 0; i < *many; i++ {
		go manyWaiter(manyCh)
	}
	leak("main.manyWaiter", *many)

	if *labelled {
		labelCh := make(chan int)
		total := 0
		for _, set := range labelSets {
			startLabelled(labelCh, set.count, set.labels)
			total += set.count
		}
		leak("main.labelWorker", total)
	}

	// Wait until every goroutine is there (the client's and the server's
	// connection goroutines gone) and parked.
	deadline := time.Now().Add(120 * time.Second)
	for runtime.NumGoroutine() != want || !dump.Settled("main.pauseWatcher") {
		if time.Now().After(deadline) {
			die("not ready after 120 s: %d goroutines, %d expected", runtime.NumGoroutine(), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
	for _, e := range expect {
		fmt.Printf("expect %s %d\n", e.name, e.count)
	}
	// the pauses of the start (and of settled's runtime.Stack) are not
	// the program's: measure from here
	atomic.StoreInt64(&maxGap, 0)
	fmt.Println("ready")
	if *exit {
		return
	}

	if *grow > 0 {
		go grower(client, url, *grow)
	}
	for sig := range sigs {
		switch sig {
		case syscall.SIGUSR1:
			// The os/signal loop that handed us the signal is
			// still on its way back to its wait: let it (and any
			// other goroutine that runs) park first, for at most
			// 30 s (a state waited for, not a time: this is a
			// hang guard).
			for end := time.Now().Add(30 * time.Second); !dump.Settled("main.pauseWatcher") && time.Now().Before(end); {
				time.Sleep(time.Millisecond)
			}
			if err := dump.Write(*dump0, 0); err != nil {
				die("dump0: %v", err)
			}
			if err := dump.Write(*dump1, 1); err != nil {
				die("dump1: %v", err)
			}
			if err := dump.Write(*dump2, 2); err != nil {
				die("dump2: %v", err)
			}
			fmt.Println("dumped")
		case syscall.SIGUSR2:
			fmt.Printf("maxgap %d\n", atomic.SwapInt64(&maxGap, 0))
		}
	}
}
