package signature

import (
	"testing"

	"github.com/admem/admem"
)

func TestNormalize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		tool, typ    string
		msg          string
		wantClass    string
		wantTemplate string
	}{
		// tau-bench airline tool errors.
		{"taubench flight date", "update_reservation_flights", "", "Error: flight HAT030 not available on date 2024-05-13",
			"Error", "flight <ID> not available on date <DATE>"},
		{"taubench payment sum", "book_reservation", "", "Error: payment amount does not add up, total price is 1002, but paid 957",
			"Error", "payment amount does not add up, total price is <NUM>, but paid <NUM>"},
		{"taubench payment id", "book_reservation", "", "Error: payment method certificate_7504069 not found",
			"Error", "payment method <ID> not found"},
		{"taubench user id", "get_user_details", "", "Error: user mia_li_3668 not found",
			"Error", "user <ID> not found"},
		{"taubench reservation", "cancel_reservation", "", "Error: reservation NO6JO3 not found",
			"Error", "reservation <ID> not found"},
		// Python.
		{"python traceback", "run_python", "", "Traceback (most recent call last):\n  File \"/app/main.py\", line 12, in <module>\n    x = int(s)\nValueError: invalid literal for int() with base 10: 'abc'",
			"ValueError", "invalid literal for int() with base <NUM>: <STR>"},
		{"python key error", "lookup", "", "KeyError: 'user_id'", "KeyError", "<STR>"},
		{"python dotted class", "fetch", "", "requests.exceptions.ConnectionError: HTTPSConnectionPool(host='api.example.com', port=443): Max retries exceeded with url: /v1/users/42 (Caused by NewConnectionError('<urllib3.connection.HTTPSConnection object at 0x7f3a2c1d9e80>: Failed to establish a new connection: [Errno 111] Connection refused'))",
			"requests.exceptions.ConnectionError", "HTTPSConnectionPool(host=<STR>, port=<NUM>): Max retries exceeded with url: <PATH> (Caused by NewConnectionError(<STR>))"},
		{"python http error", "fetch", "", "requests.exceptions.HTTPError: 404 Client Error: Not Found for url: https://api.example.com/v1/orders/8812?expand=items",
			"requests.exceptions.HTTPError", "404 Client Error: Not Found for url: <URL>"},
		{"python type given", "calc", "ZeroDivisionError", "ZeroDivisionError: division by zero", "ZeroDivisionError", "division by zero"},
		{"python class repr", "calc", "<class 'FileNotFoundError'>", "[Errno 2] No such file or directory: '/tmp/data/report-2024.csv'",
			"FileNotFoundError", "[Errno <NUM>] No such file or directory: <STR>"},
		// Java.
		{"java npe", "java_tool", "", "Exception in thread \"main\" java.lang.NullPointerException: Cannot invoke \"String.length()\" because \"<local1>\" is null\n\tat com.example.App.main(App.java:14)",
			"java.lang.NullPointerException", "Cannot invoke <STR> because <STR> is null"},
		{"java sql", "jdbc", "", "java.sql.SQLException: Duplicate entry 'alice@example.com' for key 'users.email'\n\tat com.mysql.cj.jdbc.exceptions.SQLError.createSQLException(SQLError.java:130)\nCaused by: x",
			"java.sql.SQLException", "Duplicate entry <STR> for key <STR>"},
		{"java illegal arg", "svc", "", "java.lang.IllegalArgumentException: Invalid UUID string: 123e4567-e89b-12d3-a456-426614174000x",
			"java.lang.IllegalArgumentException", "Invalid UUID string: <ID>"},
		// Go.
		{"go dial", "http_get", "", "dial tcp 10.0.0.5:5432: connect: connection refused",
			"ECONNREFUSED", "dial tcp <IP>: connect: connection refused"},
		{"go open", "read_file", "", "open /etc/admem/config.yaml: no such file or directory",
			"ENOENT", "open <PATH>: no such file or directory"},
		{"go json", "parse", "*json.UnmarshalTypeError", "json: cannot unmarshal string into Go struct field User.age of type int",
			"json.UnmarshalTypeError", "json: cannot unmarshal string into Go struct field User.age of type int"},
		{"go panic", "worker", "", "panic: runtime error: index out of range [5] with length 3\n\ngoroutine 1 [running]:\nmain.main()\n\t/app/main.go:8 +0x1d\nexit status 2",
			"panic", "runtime error: index out of range [<NUM>] with length <NUM>"},
		{"go deadline", "search", "", "Get \"https://search.internal/q?x=1\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)",
			"DeadlineExceeded", "Get <STR>: context deadline exceeded (Client.Timeout exceeded while awaiting headers)"},
		// HTTP.
		{"http plain", "api_call", "", "HTTP 429 Too Many Requests: retry after 30s", "HTTP 429", "HTTP 429 Too Many Requests: retry after <NUM>s"},
		{"http status", "api_call", "", "request failed with status code 503 after 3 retries (request id req_8f3a2c1d9b)",
			"HTTP 503", "request failed with status code 503 after <NUM> retries (request id <ID>)"},
		{"http json body", "api_call", "", `{"error": {"code": 400, "message": "Invalid value for field 'email': bob@"}}`,
			"HTTP 400", `Invalid value for field 'email': bob@`},
		{"http json code", "api_call", "", `{"status":422,"error":{"code":"INVALID_FORMAT","detail":"field 'due' has the wrong format (05/01/2026)","trace_id":"8812"}}`,
			"INVALID_FORMAT", `field <STR> has the wrong format (<DATE>)`},
		{"http json flat", "api_call", "", `{"status":503,"code":"SERVICE_UNAVAILABLE","message":"service temporarily unavailable, please retry","request_id":"77"}`,
			"SERVICE_UNAVAILABLE", `service temporarily unavailable, please retry`},
		{"http json status only", "api_call", "", `{"status":404,"message":"no such order"}`, "HTTP 404", `no such order`},
		// SQL.
		{"postgres unique", "sql", "", `ERROR: duplicate key value violates unique constraint "users_email_key" (SQLSTATE 23505)`,
			"SQLSTATE 23505", "duplicate key value violates unique constraint <STR> (SQLSTATE 23505)"},
		{"postgres relation", "sql", "", `pq: relation "orders_2024" does not exist`, "Error", "pq: relation <STR> does not exist"},
		{"mysql", "sql", "", "ERROR 1062 (23000): Duplicate entry '42' for key 'PRIMARY'", "MySQL 1062", "Duplicate entry <STR> for key <STR>"},
		{"sqlite", "sql", "", "sqlite3.OperationalError: no such table: users", "sqlite3.OperationalError", "no such table: users"},
		// Shell.
		{"bash not found", "shell", "", "bash: line 1: jqq: command not found", "CommandNotFound", "bash: line <NUM>: jqq: command not found"},
		{"ls", "shell", "", "ls: cannot access '/var/log/app-7.log': No such file or directory", "ENOENT", "ls: cannot access <STR>: No such file or directory"},
		{"exit status", "shell", "", "exit status 127", "exit 127", "exit status 127"},
		{"permission", "shell", "", "rm: cannot remove /srv/data/cache: Permission denied", "EACCES", "rm: cannot remove <PATH>: Permission denied"},
		{"git", "shell", "", "fatal: not a git repository (or any of the parent directories): .git", "Error", "not a git repository (or any of the parent directories): .git"},
		// Misc literals.
		{"email and time", "notify", "", "Error: could not send to jane.doe+test@mail.example.org at 2024-05-15T15:00:00Z",
			"Error", "could not send to <EMAIL> at <TS>"},
		{"uuid hex", "store", "", "Error: object 550e8400-e29b-41d4-a716-446655440000 checksum deadbeef01 mismatch", "Error", "object <UUID> checksum <HEX> mismatch"},
		{"list of ids", "lookup", "", "Error: unknown ids 4, 17, 99", "Error", "unknown ids <NUM>, ..."},
		{"apostrophes kept", "chat", "", "Error: can't find the user's cart", "Error", "can't find the user's cart"},
		{"vocab words kept", "enc", "", "Error: invalid utf-8 in base64 payload of int64 field", "Error", "invalid utf-8 in base64 payload of int64 field"},
		{"empty", "noop", "", "", "Error", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := Normalize(tc.tool, tc.typ, tc.msg)
			if got.Class != tc.wantClass || got.Template != tc.wantTemplate {
				t.Errorf("Normalize(%q)\n got class %q template %q\nwant class %q template %q", tc.msg, got.Class, got.Template, tc.wantClass, tc.wantTemplate)
			}
			if got.Tool != tc.tool {
				t.Errorf("tool = %q, want %q", got.Tool, tc.tool)
			}
			if again := Mask(got.Template); again != got.Template {
				t.Errorf("Mask not idempotent: %q -> %q", got.Template, again)
			}
		})
	}
}

func TestSignatureID(t *testing.T) {
	t.Parallel()
	a := Normalize("book_reservation", "", "Error: payment method certificate_7504069 not found")
	b := Normalize("book_reservation", "", "Error: payment method gift_card_1 not found")
	c := Normalize("update_reservation_flights", "", "Error: payment method certificate_7504069 not found")
	d := Normalize("book_reservation", "", "Error: payment method not found")
	if a.ID() != b.ID() {
		t.Errorf("ids differ for messages differing only in an id: %v vs %v", a, b)
	}
	if a.ID() == c.ID() {
		t.Errorf("same id for different tools")
	}
	if a.ID() == d.ID() {
		t.Errorf("same id for different templates")
	}
	if len(a.ID()) != 16 {
		t.Errorf("id %q is not 16 hex digits", a.ID())
	}
	// A fixed value pins the hash so a refactor cannot silently re-key
	// every stored signature.
	if got, want := (Signature{Tool: "t", Class: "Error", Template: "x"}).ID(), "ee6e7a31b4bf8af8"; got != want {
		t.Errorf("pinned id changed: got %s want %s", got, want)
	}
}

func TestFromStep(t *testing.T) {
	t.Parallel()
	s := admem.Step{Action: "get_reservation_details", Observation: "Error: reservation ZFA04Y not found", Status: admem.StepError}
	got := FromStep(s)
	want := Signature{Tool: "get_reservation_details", Class: "Error", Template: "reservation <ID> not found"}
	if got != want {
		t.Errorf("FromStep = %+v, want %+v", got, want)
	}
	s.Error = "KeyError: 'x'"
	if got := FromStep(s); got.Class != "KeyError" {
		t.Errorf("FromStep prefers Error over Observation: got %+v", got)
	}
}
