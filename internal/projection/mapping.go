package projection

// Index settings and mappings. "dynamic": "strict" makes an unexpected field
// an indexing error instead of a silent mapping change. id_hi and id_lo
// (IDSortKey) exist for sorting: doc values, not searchable. They stay in
// the stored source: a source filter (excludes) makes the engine parse and
// rewrite every document it indexes, which was 25–30 % of its indexing time
// (measured by reindexing 500,000 payments); readers ignore the two fields.
// The event timeline (events) is kept in the source only ("enabled":
// false: not parsed into fields, not searchable, no mapping per data key),
// which is all GET /v1/payments/{id}/events needs. Ids are keywords,
// amounts are longs (integers, never floats), text that is searched and
// also sorted or aggregated has a keyword sub-field. executed_by.id (a user
// or API key id) is a keyword for the executed_by filter; its email is kept
// in the source only (user_email is the searchable copy). Of a customer's
// API keys only the prefix is indexed (how a presented key is found); the
// rest is kept in the source for the comparison (not searchable, no doc
// values). fp, in both documents, is the document's fingerprint
// (EncodeDocument): doc values only, summed by the reconciler.

// PaymentsMapping is the body of PUT /<payments index>. The engine's
// default merge policy stays: a more eager one (4 segments per tier, a
// 100 MB floor) kept fewer segments for searches but made the projector
// take four minutes instead of half a minute to index a 1 M-payment burst.
const PaymentsMapping = `{
  "settings": {
    "number_of_shards": 1,
    "number_of_replicas": 0,
    "refresh_interval": "200ms"
  },
  "mappings": {
    "dynamic": "strict",
    "properties": {
      "id":             {"type": "keyword"},
      "id_hi":          {"type": "long", "index": false},
      "id_lo":          {"type": "long", "index": false},
      "payment_ref_id": {"type": "keyword"},
      "customer_id":    {"type": "keyword"},
      "user_id":        {"type": "keyword"},
      "amount":         {"type": "long"},
      "currency":       {"type": "keyword"},
      "third_party":    {"type": "text", "fields": {"raw": {"type": "keyword", "ignore_above": 256}}},
      "description":    {"type": "text"},
      "status":         {"type": "keyword"},
      "date":           {"type": "date", "format": "strict_date_optional_time_nanos"},
      "created_at":     {"type": "date", "format": "strict_date_optional_time_nanos"},
      "updated_at":     {"type": "date", "format": "strict_date_optional_time_nanos"},
      "customer_name":  {"type": "text", "fields": {"raw": {"type": "keyword", "ignore_above": 256}}},
      "user_name":      {"type": "text", "fields": {"raw": {"type": "keyword", "ignore_above": 256}}},
      "user_email":     {"type": "keyword"},
      "failure_code":    {"type": "keyword"},
      "failure_message": {"type": "text", "index": false},
      "attempts":        {"type": "integer"},
      "processed_at":    {"type": "date", "format": "strict_date_optional_time_nanos"},
      "amount_refunded": {"type": "long"},
      "fp":              {"type": "integer", "index": false},
      "events":          {"type": "object", "enabled": false},
      "executed_by": {
        "properties": {
          "type":  {"type": "keyword"},
          "id":    {"type": "keyword"},
          "name":  {"type": "keyword", "ignore_above": 256},
          "email": {"type": "keyword", "index": false, "doc_values": false}
        }
      }
    }
  }
}`

// CustomersMapping is the body of PUT /<customers index>.
const CustomersMapping = `{
  "settings": {
    "number_of_shards": 1,
    "number_of_replicas": 0,
    "refresh_interval": "200ms"
  },
  "mappings": {
    "dynamic": "strict",
    "properties": {
      "id":         {"type": "keyword"},
      "name":       {"type": "text", "fields": {"raw": {"type": "keyword", "ignore_above": 256}}},
      "email":      {"type": "keyword"},
      "created_at": {"type": "date", "format": "strict_date_optional_time_nanos"},
      "updated_at": {"type": "date", "format": "strict_date_optional_time_nanos"},
      "user_ids":   {"type": "keyword"},
      "fp":         {"type": "integer", "index": false},
      "users": {
        "properties": {
          "id":    {"type": "keyword"},
          "name":  {"type": "keyword"},
          "email": {"type": "keyword", "index": false, "doc_values": false}
        }
      },
      "api_keys": {
        "properties": {
          "id":     {"type": "keyword", "index": false, "doc_values": false},
          "name":   {"type": "keyword", "index": false, "doc_values": false},
          "prefix": {"type": "keyword"},
          "hash":   {"type": "keyword", "index": false, "doc_values": false},
          "scopes": {"type": "keyword", "index": false, "doc_values": false}
        }
      }
    }
  }
}`

// StateMapping is the body of PUT /<state index>.
const StateMapping = `{
  "settings": {"number_of_shards": 1, "number_of_replicas": 0},
  "mappings": {
    "dynamic": "strict",
    "properties": {
      "applied_lsn": {"type": "long"},
      "lsn":         {"type": "keyword"},
      "commit_time": {"type": "date"},
      "updated_at":  {"type": "date"}
    }
  }
}`
