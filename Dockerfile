# syntax=docker/dockerfile:1
# One image for every Wildcat Payments binary. docker-compose.yml picks the
# binary per service with `command:` (command-api, query-api, projector,
# processor, provider-sim, web).
#
#   docker build -t wildcat-payments:local .

# --- Go binaries -----------------------------------------------------------
FROM golang:1.26 AS go-build
WORKDIR /src
ENV CGO_ENABLED=0
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY cmd ./cmd
COPY internal ./internal
COPY migrations ./migrations
# Every main package under cmd/ (command-api, query-api, projector, web, ...).
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -ldflags='-s -w' -o /out/ ./cmd/...

# --- Web UI ----------------------------------------------------------------
FROM node:20 AS web-build
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

# --- Runtime ---------------------------------------------------------------
# Alpine rather than distroless: health checks need wget (busybox) and the
# one-shot `keys` service needs openssl.
FROM alpine:3.20
RUN apk add --no-cache ca-certificates openssl tzdata \
    && addgroup -S -g 10001 wildcat \
    && adduser -S -D -H -u 10001 -G wildcat wildcat \
    && mkdir -p /keys \
    && chown wildcat:wildcat /keys
COPY --from=go-build /out/ /usr/local/bin/
COPY --from=web-build /web/dist /srv/web
ENV WEB_DIST=/srv/web
USER wildcat
WORKDIR /home/wildcat
# No ENTRYPOINT: the command is the binary to run (docker run IMAGE query-api).
CMD ["command-api"]
