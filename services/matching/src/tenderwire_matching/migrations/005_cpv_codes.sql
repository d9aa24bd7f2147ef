-- CPV codes a supplier subscribes by, 8 digits without the check digit; beside its UNSPSC codes
-- (supplier_codes), not among them: the same 8 digits name different things in each scheme.
ALTER TABLE suppliers ADD COLUMN cpv_codes text[] NOT NULL DEFAULT '{}';
