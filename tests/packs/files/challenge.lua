-- A pack for the file-check transcript (tests/transcript_files.sh): the solution reads daily CSV
-- drops from its landing folder and writes its results as files into its output folder, which the
-- `file` checks compare with the ledger. No database sink: the truth is all in the files.
return challenge {
  name = "file-outputs", level = "test",
  description = "Deduplicate and clean order drops into CSV and JSONL files.",
  sources = { "files" }, sinks = { "files" },
}
