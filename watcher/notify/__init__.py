"""Alert delivery: outbox (dedup, group, retry) and channels."""
