package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/admem/admem/internal/testenv"
)

func TestRunRejectsBadConfig(t *testing.T) {
	t.Parallel()
	err := run(context.Background(), func(k string) string {
		return map[string]string{"ADMEM_JWT_SECRET": "short", "ADMEM_EMBEDDER": "openai"}[k]
	}, io.Discard)
	for _, want := range []string{"configuration", "ADMEM_DATABASE_URL", "ADMEM_JWT_SECRET", "ADMEM_EMBED_URL"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("error %v does not name %s", err, want)
		}
	}
}

// The worker starts, reports ready on its health address and stops when its
// context ends.
func TestRunServesHealthAndStops(t *testing.T) {
	t.Parallel()
	pg := testenv.DB(t)
	redisURL, prefix := testenv.Redis(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	vars := map[string]string{
		"ADMEM_DATABASE_URL":     pg.AppURL,
		"ADMEM_REDIS_URL":        redisURL,
		"ADMEM_REDIS_PREFIX":     prefix,
		"ADMEM_JWT_SECRET":       strings.Repeat("k", 40),
		"ADMEM_WORKER_ADDR":      addr,
		"ADMEM_SHUTDOWN_TIMEOUT": "5s",
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- run(ctx, func(k string) string { return vars[k] }, io.Discard) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case err := <-errc:
			t.Fatalf("run returned early: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the worker never became ready: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the worker did not stop")
	}
}
