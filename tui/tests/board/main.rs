//! End-to-end: the board's data side against a real platform (broker,
//! menu, order, delivery and gateway in-process on port 0).

mod helpers;
mod live;
