// Package sum is a package whose tests pass and leak nothing, for
// `threadleak check -- go test`.
package sum

// Sum adds xs in a goroutine, and waits for it.
func Sum(xs []int) int {
	ch := make(chan int)
	go func() {
		s := 0
		for _, x := range xs {
			s += x
		}
		ch <- s
	}()
	return <-ch
}
