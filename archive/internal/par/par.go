// Package par runs work in parallel.
package par

import (
	"context"
	"sync"
)

// ForEach runs f on every item with n workers and calls collect with each
// result, from the calling goroutine, in the order they finish. Once ctx
// ends, the remaining items are not handed out.
func ForEach[T, R any](ctx context.Context, items []T, n int, f func(T) R, collect func(R)) {
	jobs := make(chan T)
	results := make(chan R)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for d := range jobs {
				results <- f(d)
			}
		})
	}
	go func() {
		defer func() {
			close(jobs)
			wg.Wait()
			close(results)
		}()
		for _, d := range items {
			select {
			case jobs <- d:
			case <-ctx.Done():
				return
			}
		}
	}()
	for r := range results {
		collect(r)
	}
}
