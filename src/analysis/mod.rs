//! Diagnoses built on the readers: pressure states, leak detection (and `analyze`'s library
//! call), OOM ranking, vmmap classification, memory recommendations.

pub mod analyze;
pub mod leak;
pub mod oom;
pub mod oom_events;
pub mod pressure;
pub mod recommend;
pub mod stats;
pub mod synth;
pub mod vmmap;
