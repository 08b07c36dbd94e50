-- A tiny change-data-capture pack for tests/transcript_cdc.sh: customers and orders change (inserts,
-- updates, deletes, re-inserts, a hot key, long transactions, large values) in typed source tables
-- while a service solution mirrors them into schema target; the cdc checks compare the target with
-- the truth and the harness reads what the service applied from the WAL (cdc_order, cdc.lag).
return challenge {
  name = "cdc-test", level = "test",
  description = "Mirror two changing tables into schema target.",
  sources = { "postgres" }, sinks = { "postgres" },
}
