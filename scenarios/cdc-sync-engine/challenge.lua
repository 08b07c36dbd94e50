-- Change data capture, intermediate level. README.md beside this file is the problem statement a
-- contestant reads.
--
-- An operational PostgreSQL (tables customers, orders, order_items in schema public of the
-- scenario database) takes a stream of transactions: inserts, updates of some columns, deletes,
-- a key deleted and inserted again, a hot key updated in a burst, long transactions that commit
-- after later ones, large values that PostgreSQL keeps out of line (TOAST). The contestant's
-- service keeps schema target of the same database in sync through a logical replication slot and
-- a publication the harness makes (or by any other means), across a kill of the service, a
-- restart of the source and, in phase 2, a column added mid-stream. The harness checks the final
-- state against the truth, watches every key's row_version in the target while the stream runs
-- (no key may go back to an older version) and measures the replication lag, cdc.lag.
return challenge {
  name = "cdc-sync-engine",
  level = "intermediate",
  description = "Mirror a changing PostgreSQL (inserts, updates, deletes, restarts, a new column) into a target, in order, exactly once, with low lag.",
  sources = { "postgres" },
  sinks = { "postgres" },
  -- Production: an order system's database changing all day; a run stands for about a minute
  -- of its changes, mirrored continuously.
  scale = { records_per_day = 1e7, runs_per_day = 1440 },
}
