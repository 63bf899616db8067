-- food-platform patch: the watermark and the topition's id in one query,
-- so that a produce inserts its records and headers by that id instead of
-- joining cluster, topic and topition again for every row.

select

w.low, w.high, tp.id

from

cluster c
join topic t on t.cluster = c.id
join topition tp on tp.topic = t.id
join watermark w on w.topition = tp.id

where

c.name = $1
and t.name = $2
and tp.partition = $3;
