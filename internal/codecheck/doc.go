// Package codecheck holds repository-wide checks of the Go code that go vet
// and staticcheck do not make (see its tests); it has no code of its own.
package codecheck
