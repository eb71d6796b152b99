//! What `serve` answers: `/metrics`, `/healthz`, an index page at `/`, 404 elsewhere, 405 for a
//! method other than `GET` and `HEAD`. A request that cannot be parsed never gets here: hyper
//! answers it with 400 (or 431 for a head past the size cap) and closes; see `server.rs` for the
//! connections themselves.
//!
//! A scrape runs inline, on the server's only thread, so concurrent scrapers queue instead of
//! multiplying the cost of a scrape.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use hyper::body::{Bytes, Frame, SizeHint};
use hyper::header::{HeaderValue, ACCEPT, ALLOW, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};

use crate::identity::Resolver;
use crate::serve::collect::{scrape, ScrapeConfig};
use crate::serve::exposition::{encode, ExpositionFormat, Family};

const INDEX: &str = "<!doctype html>\n<html><head><title>clw-diag serve</title></head>\n<body>\n\
<h1>clw-diag serve</h1>\n<p>Memory of this host, its memory cgroups and its largest processes, \
for Prometheus.</p>\n<ul>\n<li><a href=\"metrics\">/metrics</a> (Prometheus text 0.0.4, or \
OpenMetrics 1.0.0 when the Accept header asks for it)</li>\n<li><a href=\"healthz\">/healthz</a></li>\n\
</ul>\n</body></html>\n";

/// Where a request goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `/`: a short HTML page linking the endpoints (200).
    Index,
    /// `/metrics`: a fresh scrape, in the format the `Accept` header negotiates (200).
    Metrics,
    /// `/healthz`: `ok` (200), without scraping.
    Health,
    /// Any other path: 404.
    NotFound,
    /// A known path asked with a method other than `GET` or `HEAD`: 405.
    MethodNotAllowed,
}

/// Route a method and a request target (the query string is ignored).
pub fn route(method: &Method, target: &str) -> Route {
    let path = target.split(['?', '#']).next().unwrap_or("");
    let known = match path {
        "/" => Route::Index,
        "/metrics" => Route::Metrics,
        "/healthz" => Route::Health,
        _ => return Route::NotFound,
    };
    if method == Method::GET || method == Method::HEAD {
        known
    } else {
        Route::MethodNotAllowed
    }
}

/// A response body held whole in memory (the exposition is a few kB to a few hundred kB),
/// with `G` dropped once hyper has taken the bytes, or when the connection is dropped first:
/// the server uses that moment to mark the connection waiting again.
#[derive(Debug)]
pub struct Body<G> {
    data: Option<Bytes>,
    _on_done: G,
}

impl<G: Unpin> hyper::body::Body for Body<G> {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.get_mut().data.take().map(|d| Ok(Frame::data(d))))
    }

    fn is_end_stream(&self) -> bool {
        self.data.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.data.as_ref().map_or(0, |d| d.len() as u64))
    }
}

fn text(status: StatusCode, body: &'static str) -> (StatusCode, &'static str, Bytes) {
    (
        status,
        "text/plain; charset=utf-8",
        Bytes::from_static(body.as_bytes()),
    )
}

/// Answer one request whose head has been read (its body, if any, is not read). A scrape's
/// exposition ends with the families `server` gives (the server's own counters); `resolver`
/// names the cgroups' workloads and keeps its cache for the next scrape. `log` gets
/// one line per part of a scrape that could not be read (also counted in `clw_scrape_errors`).
/// `on_done` is dropped once the response body has been handed to the connection.
pub fn respond<B, G: Unpin>(
    req: &Request<B>,
    cfg: &ScrapeConfig,
    resolver: &mut Resolver,
    server: &dyn Fn() -> Vec<Family>,
    log: &mut dyn FnMut(String),
    on_done: G,
) -> Response<Body<G>> {
    let target = req.uri().path_and_query().map_or("", |p| p.as_str());
    let r = route(req.method(), target);
    let (status, ctype, body) = match r {
        Route::Index => (
            StatusCode::OK,
            "text/html; charset=utf-8",
            Bytes::from_static(INDEX.as_bytes()),
        ),
        Route::Health => text(StatusCode::OK, "ok\n"),
        Route::NotFound => text(StatusCode::NOT_FOUND, "not found: try /metrics\n"),
        Route::MethodNotAllowed => text(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD\n"),
        Route::Metrics => {
            let accept = req.headers().get(ACCEPT).and_then(|v| v.to_str().ok());
            let format = ExpositionFormat::negotiate(accept);
            let mut s = scrape(cfg, resolver);
            s.notes.into_iter().for_each(&mut *log);
            s.families.extend(server());
            (
                StatusCode::OK,
                format.content_type(),
                Bytes::from(encode(&s.families, format)),
            )
        }
    };
    let mut resp = Response::new(Body {
        data: Some(body),
        _on_done: on_done,
    });
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(ctype));
    if r == Route::MethodNotAllowed {
        resp.headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(route(&Method::GET, "/metrics"), Route::Metrics);
        assert_eq!(route(&Method::GET, "/metrics?x=1"), Route::Metrics);
        assert_eq!(route(&Method::HEAD, "/"), Route::Index);
        assert_eq!(route(&Method::GET, "/healthz"), Route::Health);
        assert_eq!(route(&Method::GET, "/metricsx"), Route::NotFound);
        assert_eq!(route(&Method::GET, ""), Route::NotFound);
        assert_eq!(route(&Method::POST, "/metrics"), Route::MethodNotAllowed);
        assert_eq!(route(&Method::POST, "/nope"), Route::NotFound);
    }
}
