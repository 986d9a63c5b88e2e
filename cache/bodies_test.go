package cache

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestBoundHoldsForBytes(t *testing.T) {
	c := New(1000)
	for i := 0; i < 50; i++ {
		key := fmt.Sprint(i)
		v, err := c.GetOrLoad(context.Background(), key, func(context.Context) ([]byte, error) {
			return bytes.Repeat([]byte{'x'}, 90+i), nil
		})
		if err != nil || len(v) != 90+i {
			t.Fatalf("load %d: %v len %d", i, err, len(v))
		}
		if s := c.Stats(); s.Bytes > 1000 {
			t.Fatalf("after %d loads cache holds %d bytes > 1000", i, s.Bytes)
		}
	}
	s := c.Stats()
	if s.Entries == 0 || s.Bytes == 0 {
		t.Fatalf("cache kept nothing: %+v", s)
	}
	// The most recent entry survives, the oldest is gone.
	if _, ok := c.Peek("49"); !ok {
		t.Error("most recent entry evicted")
	}
	if _, ok := c.Peek("0"); ok {
		t.Error("oldest entry kept past the bound")
	}
}

func TestTooLargeServedNotKept(t *testing.T) {
	c := New(10)
	v, err := c.GetOrLoad(context.Background(), "big", func(context.Context) ([]byte, error) {
		return make([]byte, 11), nil
	})
	if err != nil || len(v) != 11 {
		t.Fatalf("got %d bytes, %v", len(v), err)
	}
	if s := c.Stats(); s.Bytes != 0 || s.Entries != 0 {
		t.Fatalf("oversized body kept: %+v", s)
	}
}

func TestSingleFlight(t *testing.T) {
	c := New(1 << 20)
	var calls atomic.Int32
	release := make(chan struct{})
	load := func(context.Context) ([]byte, error) {
		calls.Add(1)
		<-release
		return []byte("body"), nil
	}
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := c.GetOrLoad(context.Background(), "k", load)
			if err != nil || string(v) != "body" {
				t.Errorf("got %q, %v", v, err)
			}
		}()
	}
	waitWaiting(t, c, 20)
	close(release)
	wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Fatalf("loader called %d times, want 1", n)
	}
}

func TestCancelledWaiterDoesNotCancelLoad(t *testing.T) {
	c := New(1 << 20)
	release := make(chan struct{})
	var sawCancel atomic.Bool
	load := func(ctx context.Context) ([]byte, error) {
		<-release
		sawCancel.Store(ctx.Err() != nil)
		return []byte("v"), nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, err := c.GetOrLoad(ctx, "k", load)
		done <- err
	}()
	waitWaiting(t, c, 1)
	second := make(chan error)
	go func() {
		_, err := c.GetOrLoad(context.Background(), "k", load)
		second <- err
	}()
	waitWaiting(t, c, 2)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller got %v", err)
	}
	close(release)
	if err := <-second; err != nil {
		t.Fatalf("second caller: %v", err)
	}
	if sawCancel.Load() {
		t.Fatal("shared load saw the first caller's cancellation")
	}
	if _, ok := c.Peek("k"); !ok {
		t.Fatal("loaded body not cached")
	}
}

func TestErrorsNotCached(t *testing.T) {
	c := New(100)
	boom := errors.New("boom")
	if _, err := c.GetOrLoad(context.Background(), "k", func(context.Context) ([]byte, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Fatalf("got %v", err)
	}
	v, err := c.GetOrLoad(context.Background(), "k", func(context.Context) ([]byte, error) { return []byte("ok"), nil })
	if err != nil || string(v) != "ok" {
		t.Fatalf("retry after error: %q %v", v, err)
	}
}

func TestExpectFillAbandon(t *testing.T) {
	c := New(1 << 20)
	claimed := c.Expect([]string{"a", "b"})
	if len(claimed) != 2 || len(c.Expect([]string{"a"})) != 0 {
		t.Fatalf("claims: %v", claimed)
	}
	got := make(chan []byte, 2)
	var loaderCalls atomic.Int32
	for _, k := range []string{"a", "b"} {
		go func() {
			v, err := c.GetOrLoad(context.Background(), k, func(context.Context) ([]byte, error) {
				loaderCalls.Add(1)
				return []byte("self-" + k), nil
			})
			if err != nil {
				t.Error(err)
			}
			got <- v
		}()
	}
	waitWaiting(t, c, 2)
	c.Fill("a", []byte("batch-a"))
	c.Abandon("b")
	results := map[string]bool{string(<-got): true, string(<-got): true}
	if !results["batch-a"] || !results["self-b"] || loaderCalls.Load() != 1 {
		t.Fatalf("results %v, loader calls %d", results, loaderCalls.Load())
	}
	if v, ok := c.Peek("a"); !ok || string(v) != "batch-a" {
		t.Fatal("filled key not cached")
	}
	// A waiter whose context ends stops waiting.
	c.Expect([]string{"c"})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := c.GetOrLoad(ctx, "c", func(context.Context) ([]byte, error) { return nil, nil }); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v", err)
	}
	c.Abandon("c")
}

// waitWaiting polls until n callers wait for a load: the event the test
// needs, never a fixed sleep.
func waitWaiting(t *testing.T, c *Bodies, n int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for c.Stats().Waiting < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d callers waiting, want %d", c.Stats().Waiting, n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestShare(t *testing.T) {
	b := New(1 << 20)
	b.add("a\x00x", make([]byte, 10))
	b.add("a\x00y", make([]byte, 5))
	b.add("b\x00x", make([]byte, 7))
	if n, e := b.Share("a\x00"); n != 15 || e != 2 {
		t.Errorf("share of a: %d bytes in %d", n, e)
	}
	if n, e := b.Share("b\x00"); n != 7 || e != 1 {
		t.Errorf("share of b: %d bytes in %d", n, e)
	}
}
