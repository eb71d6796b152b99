//! JSON documents among traces: a Prometheus `query_range` answer or a document with a
//! `samples` array, parsed from the reader into typed records ([`Doc`]): other fields are
//! skipped unread, a sample keeps only its time, pid and `*_bytes` figures (each key once per
//! document, not once per sample), so memory follows what is kept, not the document's text.

use std::cell::RefCell;
use std::path::Path;

use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

use super::bounds;
use super::prometheus;
use super::read::{header_bytes, num, pick_metric, time_value, Builder};
use super::Series;
use crate::error::Result;
use crate::sample::files::malformed;

/// A JSON document: a Prometheus answer (`status`, `error`, `data`) or a `samples` document
/// (`target`, `limit_bytes`, `samples`); other fields are skipped unread.
#[derive(Deserialize)]
pub(super) struct Doc {
    #[serde(default)]
    pub(super) status: Option<String>,
    #[serde(default)]
    pub(super) error: Option<String>,
    #[serde(default)]
    pub(super) data: Option<prometheus::Data>,
    #[serde(default)]
    samples: Option<Vec<RawSample>>,
    #[serde(default)]
    target: Option<DocTarget>,
    #[serde(default)]
    limit_bytes: Option<Value>,
}

impl Doc {
    /// Whether it has a `samples` array.
    pub(super) fn has_samples(&self) -> bool {
        self.samples.is_some()
    }

    /// Parse a document from `r` (read to its end; the bound on its size is the reader's).
    pub(super) fn from_reader(r: impl std::io::Read) -> serde_json::Result<Doc> {
        KEYS.with(|k| k.borrow_mut().clear());
        serde_json::from_reader(r)
    }
}

#[derive(Deserialize)]
struct DocTarget {
    #[serde(default)]
    kind: Option<String>,
}

thread_local! {
    /// The `*_bytes` keys of the samples of the document being read, each once: a sample keeps
    /// an index into it, not its own copy of the key.
    static KEYS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// Most distinct `*_bytes` keys kept from one samples document.
const MAX_KEYS: usize = 256;

/// One element of `samples`: its time (`t`, else `time`, else `timestamp`: a number, or a
/// timestamp string), pid, and `*_bytes` figures (a key index, the number when it is one).
#[derive(Default)]
pub(super) struct RawSample {
    t: Option<f64>,
    time: Option<f64>,
    timestamp: Option<f64>,
    pid: Option<i64>,
    figures: Vec<(u16, Option<f64>)>,
    object: bool,
}

impl RawSample {
    fn time(&self) -> Option<f64> {
        self.t.or(self.time).or(self.timestamp)
    }
}

impl<'de> Deserialize<'de> for RawSample {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<RawSample, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawSample;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a sample object")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut m: A,
            ) -> std::result::Result<RawSample, A::Error> {
                let mut s = RawSample {
                    object: true,
                    ..RawSample::default()
                };
                while let Some(k) = m.next_key::<std::borrow::Cow<'de, str>>()? {
                    match k.as_ref() {
                        "t" => s.t = time_value(&m.next_value::<Value>()?),
                        "time" => s.time = time_value(&m.next_value::<Value>()?),
                        "timestamp" => s.timestamp = time_value(&m.next_value::<Value>()?),
                        "pid" => s.pid = m.next_value::<Value>()?.as_i64(),
                        k if k.ends_with("_bytes") => {
                            let v = num(&m.next_value::<Value>()?);
                            let id = KEYS.with(|keys| {
                                let mut keys = keys.borrow_mut();
                                match keys.iter().position(|x| x == k) {
                                    Some(i) => Some(i as u16),
                                    None if keys.len() < MAX_KEYS => {
                                        keys.push(k.to_string());
                                        Some((keys.len() - 1) as u16)
                                    }
                                    None => None,
                                }
                            });
                            if let Some(id) = id {
                                s.figures.push((id, v));
                            }
                        }
                        _ => {
                            m.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(s)
            }
            fn visit_seq<A: SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<RawSample, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(RawSample::default())
            }
            fn visit_unit<E>(self) -> std::result::Result<RawSample, E> {
                Ok(RawSample::default())
            }
            fn visit_str<E>(self, _: &str) -> std::result::Result<RawSample, E> {
                Ok(RawSample::default())
            }
            fn visit_f64<E>(self, _: f64) -> std::result::Result<RawSample, E> {
                Ok(RawSample::default())
            }
            fn visit_u64<E>(self, _: u64) -> std::result::Result<RawSample, E> {
                Ok(RawSample::default())
            }
            fn visit_i64<E>(self, _: i64) -> std::result::Result<RawSample, E> {
                Ok(RawSample::default())
            }
            fn visit_bool<E>(self, _: bool) -> std::result::Result<RawSample, E> {
                Ok(RawSample::default())
            }
        }
        d.deserialize_any(V)
    }
}

/// The series of a `samples` document (see [`crate::trace::read`]); `metric` as there.
pub(super) fn read_samples_doc(doc: &Doc, path: &Path, metric: Option<&str>) -> Result<Series> {
    let samples: &[RawSample] = doc.samples.as_deref().unwrap_or_default();
    let kind = doc.target.as_ref().and_then(|t| t.kind.clone());
    let keys = KEYS.with(|k| k.borrow().clone());
    let mut available: Vec<String> = samples
        .iter()
        .find(|s| s.object)
        .map(|s| {
            s.figures
                .iter()
                .map(|(id, _)| keys[*id as usize].clone())
                .collect()
        })
        .unwrap_or_default();
    available.sort();
    available.dedup();
    let (metric, reason) =
        pick_metric(&available, metric, kind.as_deref()).map_err(|m| malformed(path, 0, m))?;
    let id = keys.iter().position(|k| *k == metric).map(|i| i as u16);
    let mut b = Builder::new(path, metric.clone(), reason, kind, None);
    b.s.limit_bytes = match &doc.limit_bytes {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_u64() {
            Some(l) => header_bytes(path, 0, "limit_bytes", Some(l))?,
            None => {
                let shown = match v.as_f64() {
                    Some(f) => bounds::show(f),
                    None => v.to_string().chars().take(40).collect(),
                };
                return Err(malformed(
                    path,
                    0,
                    format!("limit_bytes = {shown} is not a plausible size (more than 0, at most 64 PiB)"),
                ));
            }
        },
    };
    for (i, smp) in samples.iter().enumerate() {
        let t = smp.time().ok_or_else(|| {
            malformed(
                path,
                0,
                format!("samples[{i}] has no time (t, time or timestamp)"),
            )
        })?;
        let Some(val) = smp
            .figures
            .iter()
            .find(|(k, _)| Some(*k) == id)
            .and_then(|(_, v)| *v)
        else {
            continue;
        };
        b.push(i + 1, t, val, smp.pid)?;
    }
    Ok(b.s)
}
