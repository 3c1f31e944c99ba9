//! Whether these tests run under FIFO, the default schedule, or under one the
//! explorer picked (`GLASSBOX_SCHEDULE=<seed>`: `.ci/run` runs the patterns' whole
//! suite again under ten seeds).
//!
//! Most checks hold under any schedule. A few are about FIFO itself: the order in
//! which tasks that became ready together run (a zero sleep goes to the back of the
//! line), or the order in which waiters served together observe it. Those hold only
//! under FIFO, and are skipped under an explored schedule.

/// True unless `GLASSBOX_SCHEDULE` names a seed.
pub fn fifo_schedule() -> bool {
    std::env::var("GLASSBOX_SCHEDULE").map_or(true, |value| {
        let value = value.trim();
        value.is_empty() || value == "fifo"
    })
}
