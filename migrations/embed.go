// Package migrations embeds the versioned SQL migrations of the write model.
// They are applied by goose (internal/postgres.Migrate), at command-api
// start-up and by `command-api migrate`.
package migrations

import "embed"

// FS holds the *.sql migrations, named NNNNN_description.sql.
//
//go:embed *.sql
var FS embed.FS
