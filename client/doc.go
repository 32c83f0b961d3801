// Package client is the Go client of Wildcat's command and query APIs.
//
// It wraps the packages generated from the APIs' OpenAPI documents
// (client/commandapi, client/queryapi) and adds what every ingestion client
// needs and should not have to write:
//
//   - authentication with an API key (`wc_…`) or a user's access token
//     (Login keeps one fresh);
//   - an Idempotency-Key on every create (payment, batch, refund), the same
//     on every retry of one call, so a retried create never creates twice;
//   - retries with exponential backoff and full jitter on connection errors,
//     429 and 5xx (and 409 idempotency_in_progress), honouring Retry-After,
//     bounded in attempts and by the context, and only for requests that
//     are safe to repeat (GET, PUT, DELETE, or carrying an Idempotency-Key);
//   - read-your-writes: the highest X-Consistency-Token the client's writes
//     returned is sent with its following query-API reads, until one of them
//     has seen it;
//   - problem+json errors as *Error.
//
// Operations the wrapper does not cover are available, with the same
// authentication, retries and consistency, through Command and Query.
// A Client is safe for concurrent use.
//
// See docs/client.md.
package client

//go:generate go run ./internal/gen
