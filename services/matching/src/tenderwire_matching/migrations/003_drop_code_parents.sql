-- The in-memory index answers "within N levels" now; the SQL-side parents array and its GIN
-- index only slowed every registration down.
DROP INDEX supplier_codes_parents;
ALTER TABLE supplier_codes DROP COLUMN parents;
