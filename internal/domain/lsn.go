package domain

import (
	"fmt"
	"strconv"
	"strings"
)

// An LSN is a position in PostgreSQL's write-ahead log. The write side
// hands them out in consistency tokens, the projector versions documents
// and publishes its applied position with them.

// FormatLSN renders lsn in PostgreSQL's X/Y form ("16/B374D848").
func FormatLSN(lsn uint64) string {
	return strings.ToUpper(strconv.FormatUint(lsn>>32, 16) + "/" + strconv.FormatUint(lsn&0xffffffff, 16))
}

// ParseLSN parses PostgreSQL's X/Y form of an LSN.
func ParseLSN(s string) (uint64, error) {
	hi, lo, ok := strings.Cut(s, "/")
	h, err1 := strconv.ParseUint(hi, 16, 32)
	l, err2 := strconv.ParseUint(lo, 16, 32)
	if !ok || err1 != nil || err2 != nil {
		return 0, fmt.Errorf("bad lsn %q: want X/Y in hexadecimal", s)
	}
	return h<<32 | l, nil
}
