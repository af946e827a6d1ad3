-- Store v2: each account's records live in its own Durable Object (`UserStore`), named by a
-- random store id kept here. D1 keeps the account directory. Records still in the v1 tables
-- (`records`, `store_idx_cache`) are moved into the object in bounded steps on the account's
-- next record request, then deleted here; `legacy_records` says whether any may remain.
ALTER TABLE users ADD COLUMN store_id TEXT NOT NULL DEFAULT '';
UPDATE users SET store_id = lower(hex(randomblob(16)));
ALTER TABLE users ADD COLUMN legacy_records INTEGER NOT NULL DEFAULT 0;
UPDATE users SET legacy_records = 1
WHERE id IN (SELECT user_id FROM records UNION SELECT user_id FROM store_idx_cache);
