package worker

import (
	"context"
	"time"

	"github.com/admem/admem/internal/wiring"
)

// addEntryEmbedding adds the job that keeps memory entries in the active
// embedder's vector space: it embeds entries that no API replica embedded
// (a replica stopped mid-way, or the bulk load outran it) and, after the
// embedder changed, re-embeds every entry. Vector search compares only
// vectors of the active space, so until then the entries are found lexically.
func (w *Worker) addEntryEmbedding() {
	mem := wiring.NewMemory(w.cfg, w.infra, w.log)
	if mem.Embedder() == "" {
		return // NewMemory logged why
	}
	w.jobs = append(w.jobs, Job{Name: "embed-entries", Every: 30 * time.Second, Run: func(ctx context.Context) error {
		n, err := mem.Reembed(ctx)
		if n > 0 {
			w.log.Info("embedded memory entries", "count", n, "embedder", mem.Embedder())
		}
		return err
	}})
}
