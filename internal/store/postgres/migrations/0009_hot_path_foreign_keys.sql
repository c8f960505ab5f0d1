-- The foreign keys of the rows that every import and subscription batch
-- writes go. Each cost a trigger per written row, with an index probe and a
-- row lock on the parent: about 3 ms per 1000 rows apiece, 12 ms of an
-- import batch's 30 ms of statements and 23 ms of a subscription batch's 33
-- (EXPLAIN ANALYZE, docs/performance.md). No code path can break what they
-- guarded: no tenant, person, user, SPV, share class, subscription, event or
-- webhook endpoint is ever deleted (endpoints are marked deleted), and every
-- parent is authenticated, read or written by the same request or statement
-- before its child. `zest-api check` counts any row whose parent is missing.
-- The foreign keys of the tables written rarely (tokens, keys, endpoints,
-- SPVs, documents, attempts) stay.

ALTER TABLE people DROP CONSTRAINT people_client_id_fkey;
ALTER TABLE users DROP CONSTRAINT users_person_id_fkey;
ALTER TABLE events
    DROP CONSTRAINT events_client_id_fkey,
    DROP CONSTRAINT events_person_id_fkey,
    DROP CONSTRAINT events_subscription_id_fkey;
ALTER TABLE webhook_deliveries
    DROP CONSTRAINT webhook_deliveries_event_seq_fkey,
    DROP CONSTRAINT webhook_deliveries_endpoint_id_fkey;
ALTER TABLE subscriptions
    DROP CONSTRAINT subscriptions_client_id_fkey,
    DROP CONSTRAINT subscriptions_spv_id_fkey,
    DROP CONSTRAINT subscriptions_person_id_fkey,
    DROP CONSTRAINT subscriptions_user_id_fkey,
    DROP CONSTRAINT subscriptions_share_class_id_fkey;
