//! Maintenance of a table's history: vacuum (delete files no retained version reads) and
//! restore (make an earlier version the newest again).

pub mod restore;
pub mod vacuum;
