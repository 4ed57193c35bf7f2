// Package faulttest holds the fault tests that run admem as real processes
// on loopback: cmd/api and cmd/worker built once per test binary, each
// against Postgres and Redis servers the test can kill, freeze, restart or
// restore (internal/testenv starts them). Each test drives trajectories
// through the HTTP API while it breaks something, and then asserts from
// the database that nothing was lost or applied twice: trajectories,
// events, failure clusters, mistake notes, procedure support, tool
// histories and adapter versions. docs/operations.md lists the faults.
package faulttest
