package webhook

import (
	"strings"
	"unicode/utf8"
)

// sanitize makes b storable as PostgreSQL text and showable as JSON:
// invalid UTF-8 and NUL bytes become U+FFFD, and the result is cut, on a
// character boundary, to MaxKeptResponseBytes. truncated says b is the
// start of something longer, so an incomplete character at its end was cut
// by us, not sent broken, and is dropped rather than replaced.
func sanitize(b []byte, truncated bool) string {
	if truncated {
		if i := lastRuneStart(b); i >= 0 && !utf8.FullRune(b[i:]) {
			b = b[:i]
		}
	}
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	if len(s) <= MaxKeptResponseBytes {
		return s
	}
	// Replacements grew it: cut before the first character that would
	// pass the limit.
	end := MaxKeptResponseBytes
	for !utf8.RuneStart(s[end]) {
		end--
	}
	return s[:end]
}

// lastRuneStart is the index of the last byte of b that can start a
// character, looking back at most utf8.UTFMax bytes; -1 if none.
func lastRuneStart(b []byte) int {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			return i
		}
	}
	return -1
}
