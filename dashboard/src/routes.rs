//! The HTTP routes (docs/api.md): the embedded page, the v1 JSON API, the
//! event stream, the actions and `/metrics`.

use std::collections::BTreeMap;
use std::sync::Arc;

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use bytes::Bytes;
use futures_util::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};
use starling_cluster::rebalance::{Balance, PlannedMove};
use starling_cluster::NodeId;
use tokio::sync::broadcast::error::RecvError;

use crate::hub::Hub;
use crate::model::{ranges_json, RangeJson};
use crate::source::{ActionError, Actions, RebalanceRequest};
use crate::tracker::EventKind;

const INDEX_HTML: &str = include_str!("../assets/index.html");
const APP_JS: &str = include_str!("../assets/app.js");
const STYLE_CSS: &str = include_str!("../assets/style.css");

/// Largest request body the API reads.
pub const BODY_LIMIT: usize = 64 * 1024;

/// Everything a handler needs.
pub struct AppState {
    pub hub: Arc<Hub>,
    pub actions: Arc<dyn Actions>,
    pub token: Option<String>,
    pub auth_reads: bool,
}

pub fn configure(config: &mut web::ServiceConfig) {
    config
        .app_data(web::PayloadConfig::new(BODY_LIMIT))
        .route("/", web::get().to(index))
        .route("/app.js", web::get().to(app_js))
        .route("/style.css", web::get().to(style_css))
        .route("/metrics", web::get().to(metrics))
        .service(
            web::scope("/api/v1")
                .route("/cluster", web::get().to(cluster))
                .route("/nodes", web::get().to(nodes))
                .route("/slots", web::get().to(slots))
                .route("/migrations", web::get().to(migrations))
                .route("/history", web::get().to(history))
                .route("/log", web::get().to(log))
                .route("/events", web::get().to(events))
                .route("/rebalance", web::post().to(rebalance))
                .route("/nodes/{id}/drain", web::post().to(drain))
                .route("/migrations/cancel", web::post().to(cancel)),
        )
        .default_service(web::to(|| async {
            Err::<HttpResponse, _>(ApiError::new(StatusCode::NOT_FOUND, "no such route"))
        }));
}

#[derive(Serialize)]
struct ErrorJson<'a> {
    error: &'a str,
}

/// A refused request: its status and the text of `{"error": ...}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.message)
    }
}

impl actix_web::ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        if self.status == StatusCode::UNAUTHORIZED {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        response.json(ErrorJson { error: &self.message })
    }
}

type Reply = Result<HttpResponse, ApiError>;

fn asset(content_type: &str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(body)
}

async fn index() -> HttpResponse {
    asset("text/html; charset=utf-8", INDEX_HTML)
}

async fn app_js() -> HttpResponse {
    asset("text/javascript; charset=utf-8", APP_JS)
}

async fn style_css() -> HttpResponse {
    asset("text/css; charset=utf-8", STYLE_CSS)
}

/// The bearer token of the request, or its `token` query parameter (the
/// only way a browser's EventSource can send one).
fn presented_token(request: &HttpRequest) -> Option<String> {
    if let Some(value) = request.headers().get(header::AUTHORIZATION) {
        return value
            .to_str()
            .ok()
            .and_then(|text| text.strip_prefix("Bearer "))
            .map(|token| token.trim().to_string());
    }
    web::Query::<BTreeMap<String, String>>::from_query(request.query_string())
        .ok()
        .and_then(|query| query.get("token").cloned())
}

/// Compares without stopping at the first difference.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

fn authorize_action(state: &AppState, request: &HttpRequest) -> Result<(), ApiError> {
    let Some(token) = &state.token else {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "admin actions are disabled: start the node with --admin-token",
        ));
    };
    match presented_token(request) {
        Some(presented) if same_secret(&presented, token) => Ok(()),
        _ => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "missing or wrong admin token (send Authorization: Bearer <token>)",
        )),
    }
}

fn authorize_read(state: &AppState, request: &HttpRequest) -> Result<(), ApiError> {
    if state.auth_reads {
        authorize_action(state, request)
    } else {
        Ok(())
    }
}

macro_rules! read_route {
    ($name:ident, |$state:ident| $body:expr) => {
        async fn $name(state: web::Data<AppState>, request: HttpRequest) -> Reply {
            authorize_read(&state, &request)?;
            let $state = &state;
            Ok($body)
        }
    };
}

read_route!(cluster, |state| HttpResponse::Ok().json(&state.hub.snapshot().cluster));
read_route!(nodes, |state| HttpResponse::Ok().json(&state.hub.snapshot().nodes));
read_route!(slots, |state| HttpResponse::Ok().json(&state.hub.snapshot().slots));
read_route!(migrations, |state| HttpResponse::Ok()
    .json(&state.hub.snapshot().migrations));
read_route!(metrics, |state| HttpResponse::Ok()
    .content_type("text/plain; version=0.0.4; charset=utf-8")
    .body(crate::metrics::render(&state.hub.sample(), &state.hub.snapshot())));

#[derive(Serialize)]
struct SeriesJson {
    node: NodeId,
    points: Vec<[u64; 3]>,
}

read_route!(history, |state| {
    let series: Vec<SeriesJson> = state.hub.with_tracker(|tracker| {
        tracker
            .history()
            .iter()
            .map(|(node, points)| SeriesJson {
                node: *node,
                points: points.iter().copied().collect(),
            })
            .collect()
    });
    HttpResponse::Ok().json(serde_json::json!({ "interval_secs": 1, "series": series }))
});

read_route!(log, |state| {
    let events: Vec<crate::tracker::Event> = state.hub.with_tracker(|tracker| tracker.log().cloned().collect());
    HttpResponse::Ok().json(serde_json::json!({ "events": events }))
});

read_route!(events, |state| {
    let Some((first, receiver)) = state.hub.subscribe() else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "too many open event streams",
        ));
    };
    let live = stream::unfold(receiver, |mut receiver| async move {
        loop {
            match receiver.recv().await {
                Ok(message) => return Some((message, receiver)),
                // Fell behind: skip to what is current.
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => return None,
            }
        }
    });
    let body = stream::iter(first).chain(live).map(Ok::<Bytes, actix_web::Error>);
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(body)
});

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RebalanceBody {
    #[serde(default)]
    weights: BTreeMap<String, f64>,
    by: Option<String>,
    parallel: Option<usize>,
    threshold_percent: Option<f64>,
}

#[derive(Serialize)]
struct MoveJson {
    source: NodeId,
    target: NodeId,
    slots: usize,
    slot_ranges: Vec<RangeJson>,
}

#[derive(Serialize)]
struct MovesJson {
    moves: Vec<MoveJson>,
}

fn parse_node_id(state: &AppState, text: &str) -> Result<NodeId, ApiError> {
    let id = NodeId::parse(text.as_bytes())
        .map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, format!("malformed node id {text:?}")))?;
    if state.hub.sample().view.node(&id).is_none() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no node {text} in the cluster"),
        ));
    }
    Ok(id)
}

fn bad_request(message: &str) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, message)
}

fn rebalance_request(state: &AppState, body: &Bytes) -> Result<RebalanceRequest, ApiError> {
    let body: RebalanceBody = if body.iter().all(u8::is_ascii_whitespace) {
        RebalanceBody::default()
    } else {
        serde_json::from_slice(body).map_err(|parse_error| bad_request(&format!("invalid JSON body: {parse_error}")))?
    };
    let mut weights = BTreeMap::new();
    for (node, weight) in body.weights {
        let id = parse_node_id(state, &node)?;
        if !weight.is_finite() || weight < 0.0 {
            return Err(bad_request("weights must be finite and >= 0"));
        }
        weights.insert(id, weight);
    }
    let balance = match body.by.as_deref() {
        None => Balance::Slots,
        Some(text) => {
            Balance::parse(text).ok_or_else(|| bad_request("\"by\" must be \"slots\", \"keys\" or \"memory\""))?
        }
    };
    let parallel = body.parallel.unwrap_or(2);
    if !(1..=16).contains(&parallel) {
        return Err(bad_request("\"parallel\" must be between 1 and 16"));
    }
    let threshold_percent = body.threshold_percent.unwrap_or(2.0);
    if !(0.0..=100.0).contains(&threshold_percent) {
        return Err(bad_request("\"threshold_percent\" must be between 0 and 100"));
    }
    Ok(RebalanceRequest {
        weights,
        balance,
        parallel,
        threshold_percent,
    })
}

impl From<ActionError> for ApiError {
    fn from(action_error: ActionError) -> ApiError {
        match action_error {
            ActionError::BadRequest(message) => ApiError::new(StatusCode::BAD_REQUEST, message),
            ActionError::NotFound(message) => ApiError::new(StatusCode::NOT_FOUND, message),
            ActionError::Conflict(message) => ApiError::new(StatusCode::CONFLICT, message),
            ActionError::Failed(message) => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, message),
        }
    }
}

/// Runs a blocking action on actix-web's blocking pool.
async fn run_action<T: Send + 'static>(
    action: impl FnOnce() -> Result<T, ActionError> + Send + 'static,
) -> Result<T, ApiError> {
    web::block(action)
        .await
        .map_err(|_| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "the action was interrupted"))?
        .map_err(ApiError::from)
}

/// Runs a rebalance off the event loop and answers with its moves.
async fn start_rebalance(
    state: &AppState,
    request: RebalanceRequest,
    kind: EventKind,
    node: Option<NodeId>,
    what: String,
) -> Reply {
    let actions = state.actions.clone();
    let moves: Vec<PlannedMove> = run_action(move || actions.rebalance(request)).await?;
    let slots: usize = moves.iter().map(|planned| planned.slots.len()).sum();
    let message = if moves.is_empty() {
        format!("{what}: nothing to move")
    } else {
        format!("{what}: {} moves, {slots} slots", moves.len())
    };
    state.hub.record(kind, node, message);
    let status = if moves.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    Ok(HttpResponse::build(status).json(MovesJson {
        moves: moves
            .iter()
            .map(|planned| MoveJson {
                source: planned.source,
                target: planned.target,
                slots: planned.slots.len(),
                slot_ranges: ranges_json(&planned.slots),
            })
            .collect(),
    }))
}

async fn rebalance(state: web::Data<AppState>, request: HttpRequest, body: Bytes) -> Reply {
    authorize_action(&state, &request)?;
    let rebalance_request = rebalance_request(&state, &body)?;
    start_rebalance(
        &state,
        rebalance_request,
        EventKind::RebalancePlanned,
        None,
        "rebalance planned".into(),
    )
    .await
}

async fn drain(state: web::Data<AppState>, request: HttpRequest, path: web::Path<String>) -> Reply {
    authorize_action(&state, &request)?;
    let node = parse_node_id(&state, &path)?;
    let drain_request = RebalanceRequest {
        weights: BTreeMap::from([(node, 0.0)]),
        balance: Balance::Slots,
        parallel: 2,
        threshold_percent: 0.0,
    };
    let what = format!("drain of {} planned", &node.as_str()[..8]);
    start_rebalance(&state, drain_request, EventKind::DrainPlanned, Some(node), what).await
}

async fn cancel(state: web::Data<AppState>, request: HttpRequest) -> Reply {
    authorize_action(&state, &request)?;
    let actions = state.actions.clone();
    let cancelled = run_action(move || actions.cancel_migrations()).await?;
    state.hub.record(
        EventKind::CancelRequested,
        None,
        format!("cancel requested: {cancelled} migrations cancelled"),
    );
    Ok(HttpResponse::Ok().json(serde_json::json!({ "cancelled": cancelled })))
}
