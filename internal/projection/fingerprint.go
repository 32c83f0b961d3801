package projection

import (
	"fmt"
	"strconv"

	"github.com/cespare/xxhash/v2"
)

// FingerprintField is the document field that holds the document's
// fingerprint (mapping v6): an integer kept as doc values only, which the
// reconciler (reconcile.go) sums per id range to compare the index with
// the write model without reading any source.
const FingerprintField = "fp"

// Fingerprint returns the fingerprint of an encoded document: its xxhash64
// folded into 31 bits. Non-negative and below 2^31, so the engine's sum
// aggregation, a double, stays exact over up to 2^22 documents per bucket
// (2^31 · 2^22 = 2^53).
func Fingerprint(body []byte) int64 {
	h := xxhash.Sum64(body)
	return int64((h ^ h>>32) & (1<<31 - 1))
}

// EncodeDocument encodes doc as it is indexed: its JSON object with the
// fingerprint of that JSON appended as the last member, fp. Every path that
// writes a document (stream, re-projection, redrive, backfill) encodes it
// here through BuildOps, and the reconciler fingerprints the write model's
// state the same way, so equal states give equal fingerprints.
func EncodeDocument(doc any) (body []byte, fp int64, err error) {
	raw, err := encode(doc)
	if err != nil {
		return nil, 0, err
	}
	n := len(raw)
	if n < 2 || raw[0] != '{' || raw[n-1] != '}' {
		return nil, 0, fmt.Errorf("projection: document is not a JSON object: %.40q", raw)
	}
	fp = Fingerprint(raw)
	body = make([]byte, 0, n+16)
	body = append(body, raw[:n-1]...)
	if n > 2 {
		body = append(body, ',')
	}
	body = append(body, `"`+FingerprintField+`":`...)
	body = strconv.AppendInt(body, fp, 10)
	return append(body, '}'), fp, nil
}
