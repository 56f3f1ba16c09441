-- 002-log-hlc.sql: find a received version in the change log by its
-- clock value.  Whether an incoming change was applied here before (and
-- superseded since) is asked of every incoming change that is not the
-- current version: answered through (rid, fid) alone, it walks the
-- field's whole history, which grows with every edit.  Only rows that
-- came from a peer are indexed (a version made here is known to be ours
-- by its origin), so the app's own writes pay nothing for it; clock
-- values are all but unique and mostly rising, so the index is appended
-- to rather than written at random.
CREATE INDEX _fs_log_hlc ON _fs_log (hlc) WHERE src IS NOT NULL;
