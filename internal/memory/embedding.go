package memory

import (
	"context"
	"time"
)

// embedBatch is how many entries one embedding transaction handles.
const embedBatch = 256

// While a tenant keeps writing (a bulk load), background embedding yields to
// the writes: it waits until the tenant has been quiet for bulkQuiet, but
// embeds at least one batch every maxDefer so vectors never stall. Inserting
// into the HNSW graph costs more than inserting the entry, so embedding in
// step with a bulk load would halve its rate; lexical search sees new
// entries at once either way.
const (
	bulkQuiet = 500 * time.Millisecond
	maxDefer  = 5 * time.Second
)

// maxEmbedBatches is how many embedding batches one API process runs at
// once, whatever the number of tenants written to: each batch is an embed
// call plus HNSW inserts, and many tenants embedding at the same time (after
// a burst of small writes everywhere) would only contend with each other and
// with the writes for the same cores and index pages.
const maxEmbedBatches = 2

// kick starts embedding the tenant's new entries in the background, unless a
// run for the tenant is already going (it then makes one more pass). Vectors
// are derived data: losing a run loses nothing, the next write or the
// worker's re-embed job picks the entries up.
func (s *Service) kick(tenantID string) {
	if s.emb == nil {
		return
	}
	s.embMu.Lock()
	s.lastWrite[tenantID] = time.Now()
	if s.active[tenantID] {
		s.again[tenantID] = true
		s.embMu.Unlock()
		return
	}
	s.active[tenantID] = true
	s.embWG.Add(1)
	s.embMu.Unlock()
	go func() {
		defer s.embWG.Done()
		for {
			var err error
			lastBatch := time.Now()
			for n := 1; n > 0 && err == nil; {
				s.embMu.Lock()
				busy := time.Since(s.lastWrite[tenantID]) < bulkQuiet
				s.embMu.Unlock()
				if busy && time.Since(lastBatch) < maxDefer {
					time.Sleep(bulkQuiet / 4)
					continue
				}
				s.embSlots <- struct{}{}
				lastBatch = time.Now()
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				n, err = s.store.EmbedPending(ctx, tenantID, s.emb.ID(), embedBatch, s.emb.Embed)
				cancel()
				<-s.embSlots
			}
			s.embMu.Lock()
			if err == nil && s.again[tenantID] {
				delete(s.again, tenantID)
				s.embMu.Unlock()
				continue
			}
			delete(s.active, tenantID)
			delete(s.again, tenantID)
			delete(s.lastWrite, tenantID)
			s.embMu.Unlock()
			if err != nil {
				s.log.Warn("background embedding stopped; the worker will retry", "tenant_id", tenantID, "err", err)
			}
			return
		}
	}()
}

// Wait blocks until background embedding runs started so far have finished.
func (s *Service) Wait() { s.embWG.Wait() }

// IndexPending embeds every entry of the tenant that has no vector in the
// active embedder's space, and returns how many it embedded.
func (s *Service) IndexPending(ctx context.Context, tenantID string) (int, error) {
	if s.emb == nil {
		return 0, nil
	}
	total := 0
	for {
		n, err := s.store.EmbedPending(ctx, tenantID, s.emb.ID(), embedBatch, s.emb.Embed)
		total += n
		if err != nil && total > 0 && ctx.Err() != nil {
			return total, nil // out of time: the rest waits in the queue for the next run
		}
		if err != nil || n == 0 {
			return total, err
		}
	}
}

// Reembed brings every tenant's entries into the active embedder's space:
// queued entries that no API replica embedded (it stopped, or a bulk load
// outran it), and all entries after the embedder changed. Until an entry is re-embedded, vector search does not
// see it (it never compares vectors of different spaces); lexical search
// does. The worker runs it periodically.
func (s *Service) Reembed(ctx context.Context) (int, error) {
	if s.emb == nil {
		return 0, nil
	}
	queued, switching, err := s.store.TenantsToEmbed(ctx, s.emb.ID())
	if err != nil {
		return 0, err
	}
	for _, t := range switching {
		n, err := s.store.SwitchEmbedder(ctx, t, s.emb.ID())
		if err != nil {
			return 0, err
		}
		s.log.Info("embedder changed: re-embedding the tenant's entries", "tenant_id", t, "entries", n, "embedder", s.emb.ID())
	}
	total := 0
	for _, t := range append(queued, switching...) {
		n, err := s.IndexPending(ctx, t)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}
