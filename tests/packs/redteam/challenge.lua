-- A pack for tests/transcript_redteam.sh: scenarios a hostile solution attacks (docs/solutions.md
-- "Threat model"). Each is small and fast; the attacks are tests/solutions/lingering and others.
return challenge {
  name = "redteam", level = "test",
  description = "Small scenarios for hostile solutions to attack.",
  sources = { "postgres" }, sinks = { "postgres" },
}
