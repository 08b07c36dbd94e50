-- A pack for tests/transcript_checks.sh: the limits of the check queries. The solution
-- (tests/solutions/stuck) answers some checks and leaves others stuck: a view over pg_sleep, a
-- table locked by a session it leaves behind (which the harness ends with the command).
return challenge {
  name = "checks", level = "test",
  description = "Check queries that never end, and what the harness does about them.",
  sources = { "postgres" }, sinks = { "postgres" },
}
