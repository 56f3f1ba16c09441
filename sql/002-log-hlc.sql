-- 002-log-hlc.sql: find a version made elsewhere in the change log by
-- its clock value.  Whether an incoming change was applied here before
-- (and replaced since) is asked of every incoming change that is not the
-- current version: answered through (rid, fid) alone, it walks the
-- field's whole history, which grows with every edit.  Only versions
-- made by other instances are indexed (origin 0 is this one), so the
-- app's own writes pay nothing for it; clock values are all but unique
-- and mostly rising, so the index is appended to rather than written at
-- random.
CREATE INDEX _fs_log_hlc ON _fs_log (hlc) WHERE origin <> 0;
