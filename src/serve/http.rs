//! The HTTP side of `serve`: `/metrics`, `/healthz`, an index page at `/`, 404 elsewhere.
//!
//! Requests are answered one at a time on the calling thread (tiny_http parses them on its own
//! threads), so concurrent scrapers queue instead of multiplying the cost of a scrape. Only
//! `GET` and `HEAD` are served. A request the server cannot parse gets tiny_http's own 400; no
//! request can make this loop panic or stop.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tiny_http::{Header, Method, Request, Response, Server};

use crate::serve::collect::{scrape, ScrapeConfig};
use crate::serve::exposition::{encode, ExpositionFormat};

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

/// Route a method and URL (the query string is ignored).
pub fn route(method: &Method, url: &str) -> Route {
    let path = url.split(['?', '#']).next().unwrap_or("");
    let known = match path {
        "/" => Route::Index,
        "/metrics" => Route::Metrics,
        "/healthz" => Route::Health,
        _ => return Route::NotFound,
    };
    match method {
        Method::Get | Method::Head => known,
        _ => Route::MethodNotAllowed,
    }
}

fn header(name: &str, value: &str) -> Header {
    // Both are ASCII constants or our own content types: from_bytes cannot fail on them.
    Header::from_bytes(name.as_bytes(), value.as_bytes())
        .unwrap_or_else(|_| Header::from_bytes(&b"X-Invalid"[..], &b"1"[..]).expect("ASCII"))
}

/// Answer one request. `log` receives one line per scrape problem.
pub fn respond(req: Request, cfg: &ScrapeConfig, log: &dyn Fn(&str)) {
    let r = route(req.method(), req.url());
    let (status, ctype, body): (u16, &str, String) = match r {
        Route::Index => (200, "text/html; charset=utf-8", INDEX.to_string()),
        Route::Health => (200, "text/plain; charset=utf-8", "ok\n".to_string()),
        Route::NotFound => (
            404,
            "text/plain; charset=utf-8",
            "not found: try /metrics\n".to_string(),
        ),
        Route::MethodNotAllowed => (
            405,
            "text/plain; charset=utf-8",
            "only GET and HEAD\n".to_string(),
        ),
        Route::Metrics => {
            let accept = req
                .headers()
                .iter()
                .find(|h| h.field.equiv("Accept"))
                .map(|h| h.value.as_str().to_string());
            let format = ExpositionFormat::negotiate(accept.as_deref());
            let s = scrape(cfg);
            s.notes.iter().for_each(|n| log(n));
            (200, format.content_type(), encode(&s.families, format))
        }
    };
    let mut resp = Response::from_string(body)
        .with_status_code(status)
        .with_header(header("Content-Type", ctype));
    if r == Route::MethodNotAllowed {
        resp.add_header(header("Allow", "GET, HEAD"));
    }
    // A client that went away is its own problem.
    let _ = req.respond(resp);
}

/// Serve until `stop` becomes true (checked every 200 ms).
pub fn serve(server: &Server, cfg: &ScrapeConfig, stop: &AtomicBool, log: &dyn Fn(&str)) {
    while !stop.load(Ordering::SeqCst) {
        match server.recv_timeout(Duration::from_millis(200)) {
            Ok(Some(req)) => respond(req, cfg, log),
            Ok(None) => {}
            Err(e) => {
                log(&format!("accepting a request failed: {e}"));
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(route(&Method::Get, "/metrics"), Route::Metrics);
        assert_eq!(route(&Method::Get, "/metrics?x=1"), Route::Metrics);
        assert_eq!(route(&Method::Head, "/"), Route::Index);
        assert_eq!(route(&Method::Get, "/healthz"), Route::Health);
        assert_eq!(route(&Method::Get, "/metricsx"), Route::NotFound);
        assert_eq!(route(&Method::Get, ""), Route::NotFound);
        assert_eq!(route(&Method::Post, "/metrics"), Route::MethodNotAllowed);
        assert_eq!(route(&Method::Post, "/nope"), Route::NotFound);
    }
}
