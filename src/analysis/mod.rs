//! Diagnoses built on the readers: vmmap classification and pressure states.

pub mod leak;
pub mod oom;
pub mod oom_events;
pub mod pressure;
pub mod recommend;
pub mod stats;
pub mod synth;
pub mod vmmap;
