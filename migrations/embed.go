// Package migrations embeds the numbered SQL migrations (golang-migrate
// format) so every binary carries the schema it expects.
package migrations

import "embed"

// FS holds the *.up.sql and *.down.sql files.
//
//go:embed *.sql
var FS embed.FS
