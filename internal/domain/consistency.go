package domain

import (
	"fmt"
	"strconv"
	"strings"
)

// A consistency token (X-Consistency-Token) names a position in
// PostgreSQL's write-ahead log (an LSN) at or after the commit of a write.
// The projector publishes the LSN up to which every change is searchable;
// a read carrying a token waits until that LSN reaches the token's.
//
// Encoding: "c1." followed by the LSN as 16 lower-case hex digits. The "c1"
// prefix versions the format; clients must treat the whole value as opaque.

const consistencyPrefix = "c1."

// EncodeConsistencyToken returns the token for lsn.
func EncodeConsistencyToken(lsn uint64) string {
	return fmt.Sprintf("%s%016x", consistencyPrefix, lsn)
}

// DecodeConsistencyToken returns the LSN of token, or an EINVALID error.
func DecodeConsistencyToken(token string) (uint64, error) {
	hex, ok := strings.CutPrefix(token, consistencyPrefix)
	if !ok || len(hex) != 16 {
		return 0, &Error{Code: EINVALID, Message: "consistency_token: not a token issued by this service",
			Fields: []FieldError{{Field: "consistency_token", Message: "is not a valid consistency token"}}}
	}
	lsn, err := strconv.ParseUint(hex, 16, 64)
	if err != nil || strings.ToLower(hex) != hex {
		return 0, &Error{Code: EINVALID, Message: "consistency_token: not a token issued by this service",
			Fields: []FieldError{{Field: "consistency_token", Message: "is not a valid consistency token"}}}
	}
	return lsn, nil
}
