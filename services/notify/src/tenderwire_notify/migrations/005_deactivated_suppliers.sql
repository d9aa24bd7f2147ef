-- Suppliers that left: their queued and batched alerts are dropped, and alerts still on
-- their way from matching are not queued.
CREATE TABLE deactivated_suppliers (
    supplier_id    text        PRIMARY KEY,
    deactivated_at timestamptz NOT NULL DEFAULT now()
);
