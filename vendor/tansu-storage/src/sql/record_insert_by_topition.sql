-- food-platform patch: record_insert.sql with the topition's id given.

insert into record
(topition, offset_id, attributes, producer_id, producer_epoch, timestamp, k, v)
values ($1, $2, $3, $4, $5, $6, $7, $8);
