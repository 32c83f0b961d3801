package domain

import (
	_ "embed"
	"strings"
)

//go:embed common-passwords.txt
var commonPasswordFile string

// commonPasswords is the bundled list (common-passwords.txt), lowercased.
var commonPasswords = func() map[string]struct{} {
	m := make(map[string]struct{}, 256)
	for line := range strings.Lines(commonPasswordFile) {
		line = strings.TrimRight(line, "\r\n")
		if line == "" || strings.HasPrefix(line, "# ") {
			continue
		}
		m[line] = struct{}{}
	}
	return m
}()

// IsCommonPassword reports whether pw, compared case-insensitively and
// without surrounding space, is on the bundled list of common passwords:
// the ones a guessing attacker tries first, whatever their length. Only
// entries of at least MinPasswordLen characters are bundled; shorter
// passwords fail the length rule anyway.
func IsCommonPassword(pw string) bool {
	_, ok := commonPasswords[strings.ToLower(strings.TrimSpace(pw))]
	return ok
}
