-- Lead the unique indexes of people with the column a lookup names, not with
-- client_id. With client_id first, the planner could serve a lookup by
-- (client_id, partner_investor_id) from the email index's client_id prefix,
-- reading every person of the tenant per lookup: it did so when planning
-- against a table that was still empty, and a batch then took seconds.
-- Uniqueness is the same: per tenant.

DROP INDEX people_client_partner_investor_id_key;
CREATE UNIQUE INDEX people_partner_investor_id_client_key ON people (partner_investor_id, client_id);

DROP INDEX people_client_email_key;
CREATE UNIQUE INDEX people_email_client_key ON people (email_normalized, client_id);
