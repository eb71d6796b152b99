//! `serve`: memory of the host, its memory cgroups and its largest processes as a Prometheus /
//! OpenMetrics endpoint.
//!
//! [`collect`] reads the same files as `sample` (through the readers of [`crate::sample`]) into
//! metric families, each cgroup's labelled with its workload ([`labels`], cAdvisor's label
//! names, from one [`crate::identity::Resolver`] kept by the server), [`exposition`] writes them in the Prometheus text or OpenMetrics format,
//! [`http`] answers a request, and [`server`] holds the connections (hyper on one thread, a
//! connection cap with eviction of idle clients, timeouts, bounded request heads; [`slots`] is
//! its connection table). Metric names and meanings are listed in docs/metrics.md.

pub mod collect;
pub mod exposition;
pub mod http;
pub mod labels;
pub mod server;
pub mod slots;
