-- food-platform patch: header_fetch.sql with the topition's id given (by the
-- header_topition_offset_id index), instead of a join of five tables for
-- every fetched record.

select h.k, h.v
from header h
where h.topition = $1
and h.offset_id = $2;
