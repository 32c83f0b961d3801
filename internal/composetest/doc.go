// Package composetest holds no code of its own: its tests check that
// docker-compose.yml and the Dockerfile agree with the binaries' configuration
// (the environment variables each cmd/*/config.go reads, their listen
// addresses) without a Docker engine, so the compose setup cannot drift
// silently from the code.
package composetest
