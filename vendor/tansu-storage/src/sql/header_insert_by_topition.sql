-- food-platform patch: header_insert.sql with the topition's id given.

insert into header (topition, offset_id, k, v) values ($1, $2, $3, $4);
