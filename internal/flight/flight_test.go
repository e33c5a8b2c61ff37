package flight

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// waitFor waits until n calls have started.
func waitFor(calls *atomic.Int32, n int32) {
	for calls.Load() < n {
		time.Sleep(time.Millisecond)
	}
}

// TestWaiterGivesUp: a caller that gives up while it waits returns at
// once, and the call goes on for its starter.
func TestWaiterGivesUp(t *testing.T) {
	var g Group[string]
	release := make(chan struct{})
	var calls atomic.Int32
	fn := func(ctx context.Context) (string, error) {
		calls.Add(1)
		<-release
		return "answer", nil
	}
	started := make(chan string, 1)
	go func() {
		v, _ := g.Do(context.Background(), "k", fn)
		started <- v
	}()
	waitFor(&calls, 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := g.Do(ctx, "k", fn); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled waiter: %v", err)
	}
	close(release)
	if v := <-started; v != "answer" {
		t.Fatalf("the starter got %q", v)
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("%d calls, want 1", n)
	}
}

// TestStarterGivesUp: a caller that waited for a call its starter gave up
// calls again with its own context, and gets the answer.
func TestStarterGivesUp(t *testing.T) {
	var g Group[string]
	var calls atomic.Int32
	fn := func(ctx context.Context) (string, error) {
		if calls.Add(1) == 1 {
			<-ctx.Done()
			return "", ctx.Err()
		}
		return "answer", nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	gaveUp := make(chan error, 1)
	go func() {
		_, err := g.Do(ctx, "k", fn)
		gaveUp <- err
	}()
	waitFor(&calls, 1)
	waited := make(chan string, 1)
	go func() {
		v, err := g.Do(context.Background(), "k", fn)
		if err != nil {
			t.Errorf("waiter: %v", err)
		}
		waited <- v
	}()
	time.Sleep(20 * time.Millisecond) // the waiter joins the first call
	cancel()
	if err := <-gaveUp; !errors.Is(err, context.Canceled) {
		t.Fatalf("starter: %v", err)
	}
	if v := <-waited; v != "answer" {
		t.Fatalf("the waiter got %q", v)
	}
	if n := calls.Load(); n != 2 {
		t.Fatalf("%d calls, want 2 (the waiter calls again)", n)
	}
}

// TestSharedCall: callers that ask while a call runs share it.
func TestSharedCall(t *testing.T) {
	var g Group[int]
	release := make(chan struct{})
	var calls atomic.Int32
	fn := func(context.Context) (int, error) {
		calls.Add(1)
		<-release
		return 42, nil
	}
	results := make(chan int, 5)
	for range 5 {
		go func() {
			v, _ := g.Do(context.Background(), "k", fn)
			results <- v
		}()
	}
	waitFor(&calls, 1)
	time.Sleep(20 * time.Millisecond) // the others join
	close(release)
	for range 5 {
		if v := <-results; v != 42 {
			t.Fatalf("got %d", v)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("%d calls, want 1", n)
	}
}
