//! Two (or more) sides measured in alternating batches, so that load on the machine hits
//! them alike: shared by the benches that compare a mode with plain PostgreSQL.

use std::time::{Duration, Instant};

/// One side of a pair: its name, and the call it makes (given the call's number).
pub type Side<'a> = (&'a str, Box<dyn FnMut(usize) -> tenantry::BoxFuture<'a, ()> + 'a>);

/// Per-call times of `rounds` batches of `batch` calls, per side, the sides alternating
/// batch by batch: the 10th percentile, the median and the 90th percentile of the batches.
pub async fn alternate<'a>(rounds: usize, batch: usize, sides: &mut [Side<'a>]) -> Vec<(&'a str, [Duration; 3])> {
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); sides.len()];
    for round in 0..rounds {
        for (i, (_, call)) in sides.iter_mut().enumerate() {
            let start = Instant::now();
            for k in 0..batch {
                call(round * batch + k).await;
            }
            times[i].push(start.elapsed() / batch as u32);
        }
    }
    sides
        .iter()
        .zip(times)
        .map(|((name, _), mut t)| {
            t.sort();
            (*name, [t[t.len() / 10], t[t.len() / 2], t[t.len() * 9 / 10]])
        })
        .collect()
}
