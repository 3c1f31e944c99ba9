//! `join_all`: await many tasks, get every result back in input order.
//!
//! # Ground rules
//! - The tasks already run concurrently (they were spawned); awaiting them one after
//!   the other only collects their outputs, it does not serialise them.
//! - A panicked or cancelled task does not hide the others: its slot holds the
//!   `JoinError`.

use executor::{JoinError, JoinHandle};

/// Waits for every task and returns their results in the order given.
///
/// asyncio equivalent: `await asyncio.gather(*tasks, return_exceptions=True)`.
/// tokio equivalent: `futures::future::join_all(handles)` (or a `JoinSet`, which
/// yields in completion order instead).
///
/// Dropping the `join_all` future (a `timeout` around it expired, say) drops the
/// handles, and a dropped handle *detaches* its task: the tasks run on. asyncio's
/// `gather` cancels its children when it is cancelled; to do that here, keep the
/// handles, await them through `&mut`, and `abort` them on timeout
/// (`examples/timeouts.rs` shows how).
///
/// ```
/// use patterns::join_all;
/// let results = executor::block_on(async {
///     let handles = (1..=3).map(|i| executor::spawn(async move { i * i }));
///     join_all(handles).await
/// });
/// let squares: Vec<i32> = results.into_iter().map(Result::unwrap).collect();
/// assert_eq!(squares, [1, 4, 9]);
/// ```
pub async fn join_all<T, I>(handles: I) -> Vec<Result<T, JoinError>>
where
    I: IntoIterator<Item = JoinHandle<T>>,
{
    let handles: Vec<JoinHandle<T>> = handles.into_iter().collect();
    let mut results = Vec::with_capacity(handles.len());
    for handle in handles {
        results.push(handle.await);
    }
    results
}
