//! The HTTP endpoints, on the address given (loopback by default):
//! `/metrics` (Prometheus text), `/healthz` (the process answers) and
//! `/readyz` (the last successful observation is at most two intervals old;
//! 503 otherwise). GET and HEAD only; anything else is 405, unknown paths 404.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::metrics::Metrics;
use super::schedule::ready;

/// What the endpoints show.
#[derive(Debug)]
pub struct Health {
    /// The metrics.
    pub metrics: Arc<Metrics>,
    interval: Duration,
    last_observed: Mutex<Option<Instant>>,
}

impl Health {
    /// Nothing observed yet: alive, not ready.
    #[must_use]
    pub fn new(metrics: Arc<Metrics>, interval: Duration) -> Self {
        Self {
            metrics,
            interval,
            last_observed: Mutex::new(None),
        }
    }

    /// An observation succeeded now.
    pub fn observed(&self) {
        *self
            .last_observed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Instant::now());
    }

    fn ready(&self) -> bool {
        let last = *self
            .last_observed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        ready(last, Instant::now(), self.interval)
    }
}

fn text(status: StatusCode, content_type: &'static str, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    if let Ok(value) = hyper::header::HeaderValue::from_str(content_type) {
        response.headers_mut().insert(hyper::header::CONTENT_TYPE, value);
    }
    response
}

fn respond(health: &Health, request: &Request<Incoming>) -> Response<Full<Bytes>> {
    const PLAIN: &str = "text/plain; charset=utf-8";
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return text(StatusCode::METHOD_NOT_ALLOWED, PLAIN, "only GET and HEAD\n".into());
    }
    match request.uri().path() {
        "/metrics" => match health.metrics.encode() {
            Ok(body) => text(
                StatusCode::OK,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
                body,
            ),
            Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, PLAIN, format!("metrics: {e}\n")),
        },
        "/healthz" => text(StatusCode::OK, PLAIN, "ok\n".into()),
        "/readyz" if health.ready() => text(StatusCode::OK, PLAIN, "ready\n".into()),
        "/readyz" => text(
            StatusCode::SERVICE_UNAVAILABLE,
            PLAIN,
            "not ready: no successful observation within two intervals\n".into(),
        ),
        _ => text(
            StatusCode::NOT_FOUND,
            PLAIN,
            "not found: /metrics, /healthz and /readyz are served\n".into(),
        ),
    }
}

/// Serves `listener` until `stop` turns true.
pub async fn serve(listener: TcpListener, health: Arc<Health>, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = stop.wait_for(|s| *s) => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let health = Arc::clone(&health);
                tokio::spawn(async move {
                    let service = service_fn(move |request: Request<Incoming>| {
                        let response = respond(&health, &request);
                        async move { Ok::<_, Infallible>(response) }
                    });
                    let _ = http1::Builder::new()
                        .timer(TokioTimer::new())
                        .header_read_timeout(Duration::from_secs(10))
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        }
    }
}
