// Package shapetest holds no code of its own: its tests check that a
// payment has one shape. domain.Payment describes its fields once; the
// index document, the index mapping, the query result, the command API's
// response, both OpenAPI documents, the command input and the CSV export
// must all agree with it, except for the differences its tests list and
// explain. A field added in one place and forgotten in another fails here.
package shapetest
