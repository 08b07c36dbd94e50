-- A pack for transcript_special.sh: a scenario whose checks read the solution's documents (a
-- FIFO or a device in their place must fail the check at once, not hang the run), and one that
-- only runs the solution, for the run-folder and --out cases.
return challenge {
  name = "special", level = "test",
  description = "Special files where the harness expects regular ones.",
  sources = { "files" }, sinks = { "files" },
}
