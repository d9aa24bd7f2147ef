-- Local times between which a supplier wants no immediate alerts (deferred, never dropped).
ALTER TABLE suppliers
    ADD COLUMN quiet_hours_start time,
    ADD COLUMN quiet_hours_end   time;
