-- A pack for the parallel-scenarios transcript (tests/transcript_jobs.sh): four small scenarios,
-- each with its own database and landing folder, with a mix of verdicts (pass, a failed check,
-- a warning, a failing threshold), so `harness run --jobs 2` can be compared with a serial run.
-- The solution is tests/solutions/files_good (the file-outputs reference).
return challenge {
  name = "jobs", level = "test",
  description = "Order drops deduplicated into files, four ways, for parallel runs.",
  sources = { "files", "postgres" }, sinks = { "files" },
}
