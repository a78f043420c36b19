//! The load bench's pure parts, tested without running it (issue #25): the run's record and
//! its JSON (`load/record.rs`), the comparison of two records (`load/compare.rs`), the
//! targets read from a record (`load/targets.rs`) and the charts drawn from one
//! (`load/charts.rs`). The bench binary (`harness = false`) has no test harness of its own:
//! these modules are compiled here a second time, as modules of this test crate.

#[allow(dead_code)]
#[path = "load/charts.rs"]
mod charts;
#[allow(dead_code)]
#[path = "load/compare.rs"]
mod compare;
#[allow(dead_code)]
#[path = "load/record.rs"]
mod record;
#[allow(dead_code)]
#[path = "load/shared.rs"]
mod shared;
#[allow(dead_code)]
#[path = "load/targets.rs"]
mod targets;
