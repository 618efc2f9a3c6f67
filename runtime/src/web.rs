//! axum/tower integration: the request says who the tenant is, and a guard exists only
//! once the caller has proven it may act for that tenant.
//!
//! A [`TenantResolver`] combines a [`Strategy`] (where the tenant comes from: a header, the
//! `Host` subdomain, a path segment, a verified JWT claim, or your own async resolver) with
//! an authorization hook ([`Authorize`]: may this caller act for that tenant?). Its
//! [`layer`](TenantResolver::layer) resolves every request, refuses it with a JSON error
//! or stores the [`Scope`] for the [`Scope`] extractor, and runs the handler inside a
//! `tenantry.request` span (fields `tenant`, `strategy`) that parents the per-query spans.
//!
//! A header, subdomain or path strategy that anyone can set must be paired with a hook,
//! or be opted into by name ([`Strategy::trusted_header`], ...): trusting a bare header
//! is never the silent default.
//!
//! A value that appears twice is never resolved to one of them: two `Host` headers (RFC
//! 9112 says such a request gets a 400) are refused on every strategy, and two of the
//! strategy's tenant header, or two `Authorization` headers for [`bearer`], are refused
//! too — behind a proxy that appends its value to the client's, "the first" would be the
//! client's.
//!
//! | failure | status | `code` |
//! |---|---|---|
//! | no tenant in the request | 400 | `tenant_missing` |
//! | two `Host` headers, or two of the tenant header (or of `Authorization`) | 400 | `duplicate_header` |
//! | malformed tenant id, or a `Host` that is not ASCII | 400 | `invalid_tenant` |
//! | missing or invalid credentials | 401 | `unauthenticated` |
//! | caller not allowed for that tenant | 403 | `forbidden` |
//! | tenant denied by policy (suspended, ...) | 403 | `tenant_denied` |

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

use crate::{Db, Error, Scope, TenantId};

/// The future a [`Resolve`] or [`Authorize`] implementation returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A refusal, as the HTTP response it becomes: `{"error": "...", "code": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebError {
    /// The HTTP status.
    pub status: StatusCode,
    /// A stable machine-readable code.
    pub code: &'static str,
    /// A message for humans; never names another tenant.
    pub message: String,
}

impl WebError {
    /// Any status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        WebError { status, code, message: message.into() }
    }

    /// 404 `not_found`: also what another tenant's row looks like, so that its existence
    /// is not revealed.
    pub fn not_found() -> Self {
        WebError { status: StatusCode::NOT_FOUND, code: "not_found", message: "not found".to_string() }
    }

    /// 400 `tenant_missing`.
    pub fn tenant_missing(what: impl fmt::Display) -> Self {
        WebError { status: StatusCode::BAD_REQUEST, code: "tenant_missing", message: format!("no tenant: {what}") }
    }
    /// 400 `invalid_tenant`.
    pub fn invalid_tenant(why: impl fmt::Display) -> Self {
        WebError { status: StatusCode::BAD_REQUEST, code: "invalid_tenant", message: why.to_string() }
    }
    /// 400 `duplicate_header`: the request carries header `name` more than once (or, for
    /// `Host`, a list of hosts), so which one counts would be a guess.
    pub fn duplicate_header(name: impl fmt::Display) -> Self {
        WebError {
            status: StatusCode::BAD_REQUEST,
            code: "duplicate_header",
            message: format!("the request has more than one `{name}` header"),
        }
    }
    /// 401 `unauthenticated`: missing or invalid credentials.
    pub fn unauthenticated(why: impl fmt::Display) -> Self {
        WebError { status: StatusCode::UNAUTHORIZED, code: "unauthenticated", message: why.to_string() }
    }
    /// 403 `forbidden`: the caller may not act for the tenant it named.
    pub fn forbidden() -> Self {
        WebError {
            status: StatusCode::FORBIDDEN,
            code: "forbidden",
            message: "the credentials do not allow acting for this tenant".to_string(),
        }
    }
}

impl fmt::Display for WebError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.message)
    }
}

impl std::error::Error for WebError {}

fn json_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let body = format!("{{\"error\":\"{}\",\"code\":\"{}\"}}", json_escape(&self.message), self.code);
        (self.status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
    }
}

/// Repository errors as HTTP: a denial is 403, a missing row 404, a bad tenant id 400;
/// anything else is a 500 whose body says nothing about the data (the error is logged).
impl From<Error> for WebError {
    fn from(e: Error) -> Self {
        match e {
            Error::Denied { reason, .. } => WebError::new(StatusCode::FORBIDDEN, "tenant_denied", reason),
            Error::NotFound { .. } => WebError::not_found(),
            Error::InvalidTenant(e) => WebError::invalid_tenant(e),
            other => {
                // Display leaves the source out (see `tenantry::Error`): log the chain.
                let mut chain = other.to_string();
                let mut cause = std::error::Error::source(&other);
                while let Some(c) = cause {
                    chain.push_str(&format!(": {c}"));
                    cause = c.source();
                }
                tracing::error!(target: "tenantry::web", error = %chain, "request failed");
                WebError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error")
            }
        }
    }
}

/// See [`From<Error> for WebError`](WebError#impl-From<Error>-for-WebError).
impl IntoResponse for Error {
    fn into_response(self) -> Response {
        WebError::from(self).into_response()
    }
}

/// Finds the tenant (as text) in a request, for [`Strategy::custom`].
pub trait Resolve: Send + Sync + 'static {
    /// The tenant the request names, or why there is none.
    fn resolve<'a>(&'a self, parts: &'a Parts) -> BoxFuture<'a, Result<String, WebError>>;
}

/// Decides whether the caller may act for the tenant the request names. Runs before the
/// guard exists; read the credentials from `parts`.
pub trait Authorize: Send + Sync + 'static {
    /// `Ok(())` to go ahead; usually [`WebError::unauthenticated`] or
    /// [`WebError::forbidden`] otherwise.
    fn authorize<'a>(&'a self, parts: &'a Parts, tenant: &'a TenantId) -> BoxFuture<'a, Result<(), WebError>>;
}

/// A [`Resolve`] from a synchronous closure.
pub fn resolve_fn<F>(f: F) -> impl Resolve
where
    F: Fn(&Parts) -> Result<String, WebError> + Send + Sync + 'static,
{
    struct R<F>(F);
    impl<F: Fn(&Parts) -> Result<String, WebError> + Send + Sync + 'static> Resolve for R<F> {
        fn resolve<'a>(&'a self, parts: &'a Parts) -> BoxFuture<'a, Result<String, WebError>> {
            let outcome = (self.0)(parts);
            Box::pin(async move { outcome })
        }
    }
    R(f)
}

/// An [`Authorize`] from a synchronous closure.
pub fn authorize_fn<F>(f: F) -> impl Authorize
where
    F: Fn(&Parts, &TenantId) -> Result<(), WebError> + Send + Sync + 'static,
{
    struct A<F>(F);
    impl<F: Fn(&Parts, &TenantId) -> Result<(), WebError> + Send + Sync + 'static> Authorize for A<F> {
        fn authorize<'a>(&'a self, parts: &'a Parts, tenant: &'a TenantId) -> BoxFuture<'a, Result<(), WebError>> {
            let outcome = (self.0)(parts, tenant);
            Box::pin(async move { outcome })
        }
    }
    A(f)
}

/// The value of header `name` if the request has it exactly once; a
/// [`WebError::duplicate_header`] if it has it more than once.
///
/// ```
/// use axum::http::HeaderMap;
/// use tenantry::web::single_header;
/// let mut headers = HeaderMap::new();
/// assert_eq!(single_header(&headers, "x-tenant-id"), Ok(None));
/// headers.append("x-tenant-id", "acme".parse().unwrap());
/// assert_eq!(single_header(&headers, "x-tenant-id").unwrap().unwrap(), "acme");
/// headers.append("x-tenant-id", "globex".parse().unwrap());
/// assert_eq!(single_header(&headers, "x-tenant-id").unwrap_err().code, "duplicate_header");
/// ```
pub fn single_header<K: header::AsHeaderName + Copy + fmt::Display>(
    headers: &HeaderMap,
    name: K,
) -> Result<Option<&HeaderValue>, WebError> {
    let mut values = headers.get_all(name).iter();
    match (values.next(), values.next()) {
        (Some(_), Some(_)) => Err(WebError::duplicate_header(name)),
        (first, None) => Ok(first),
        (None, Some(_)) => unreachable!("a second value without a first"),
    }
}

/// The bearer token of `Authorization: Bearer <token>`, or a 401 (a 400
/// `duplicate_header` for two `Authorization` headers).
pub fn bearer(headers: &HeaderMap) -> Result<&str, WebError> {
    let value = single_header(headers, header::AUTHORIZATION.as_str())?
        .ok_or_else(|| WebError::unauthenticated("missing `Authorization: Bearer` credentials"))?;
    let value = value.to_str().map_err(|_| WebError::unauthenticated("malformed `Authorization` header"))?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => Ok(token.trim()),
        _ => Err(WebError::unauthenticated("expected `Authorization: Bearer <token>`")),
    }
}

/// Where the tenant comes from.
pub struct Strategy {
    kind: Kind,
    trusted: bool,
}

enum Kind {
    Header(axum::http::HeaderName),
    Subdomain(String),
    PathSegment(usize),
    #[cfg(feature = "jwt")]
    Jwt(Box<Jwt>),
    Custom(Box<dyn Resolve>),
}

#[cfg(feature = "jwt")]
struct Jwt {
    key: jsonwebtoken::DecodingKey,
    validation: jsonwebtoken::Validation,
    claim: String,
}

impl Strategy {
    /// The tenant is the value of header `name`; needs an authorization hook.
    pub fn header(name: &'static str) -> Self {
        Strategy { kind: Kind::Header(axum::http::HeaderName::from_static(name)), trusted: false }
    }

    /// The header, trusted without a hook: only behind a proxy that sets it itself.
    pub fn trusted_header(name: &'static str) -> Self {
        Strategy { trusted: true, ..Strategy::header(name) }
    }

    /// The tenant is the subdomain of `base` in `Host` (`acme.example.com` → `acme`);
    /// needs an authorization hook.
    pub fn subdomain(base: &str) -> Self {
        Strategy { kind: Kind::Subdomain(base.trim_start_matches('.').to_ascii_lowercase()), trusted: false }
    }

    /// The subdomain, trusted without a hook.
    pub fn trusted_subdomain(base: &str) -> Self {
        Strategy { trusted: true, ..Strategy::subdomain(base) }
    }

    /// The tenant is the `index`-th segment of the path (`/t/acme/invoices`, index 1 →
    /// `acme`); needs an authorization hook.
    pub fn path_segment(index: usize) -> Self {
        Strategy { kind: Kind::PathSegment(index), trusted: false }
    }

    /// The path segment, trusted without a hook.
    pub fn trusted_path_segment(index: usize) -> Self {
        Strategy { trusted: true, ..Strategy::path_segment(index) }
    }

    /// The tenant is claim `claim` of the bearer JWT, whose signature and expiry are
    /// verified with `key` and `validation`. The token is the proof; a hook may add checks.
    ///
    /// `nbf` (not before) is always validated when the token has one, whatever
    /// `validation.validate_nbf` says (jsonwebtoken leaves it off by default): a token
    /// that is not valid yet is no proof. `validation.leeway` applies to it as to `exp`.
    #[cfg(feature = "jwt")]
    pub fn jwt(key: jsonwebtoken::DecodingKey, mut validation: jsonwebtoken::Validation, claim: &str) -> Self {
        validation.validate_nbf = true;
        Strategy { kind: Kind::Jwt(Box::new(Jwt { key, validation, claim: claim.to_string() })), trusted: true }
    }

    /// Your own resolver (an API-key lookup, a session store). It authenticates the caller
    /// itself; a hook may add checks.
    pub fn custom(resolver: impl Resolve) -> Self {
        Strategy { kind: Kind::Custom(Box::new(resolver)), trusted: true }
    }

    /// The strategy's name in spans and logs.
    pub fn name(&self) -> &'static str {
        match self.kind {
            Kind::Header(_) => "header",
            Kind::Subdomain(_) => "subdomain",
            Kind::PathSegment(_) => "path",
            #[cfg(feature = "jwt")]
            Kind::Jwt(_) => "jwt",
            Kind::Custom(_) => "custom",
        }
    }

    async fn extract(&self, parts: &Parts) -> Result<String, WebError> {
        // Every strategy: a request with two Hosts is malformed (RFC 9112, section 3.2).
        let host = single_header(&parts.headers, header::HOST.as_str())?;
        match &self.kind {
            Kind::Header(name) => {
                let value = single_header(&parts.headers, name.as_str())?
                    .ok_or_else(|| WebError::tenant_missing(format!("no `{name}` header")))?;
                value
                    .to_str()
                    .map(str::to_string)
                    .map_err(|_| WebError::invalid_tenant(format!("`{name}` is not text")))
            }
            Kind::Subdomain(base) => {
                let host = match host {
                    Some(value) => value.to_str().map_err(|_| {
                        WebError::invalid_tenant(
                            "the `Host` header is not ASCII text (an internationalised name is sent in its `xn--` form)",
                        )
                    })?,
                    None => parts.uri.host().ok_or_else(|| WebError::tenant_missing("no `Host` header"))?,
                };
                // A proxy that folds two Hosts into one writes a list.
                if host.contains(',') {
                    return Err(WebError::duplicate_header(header::HOST));
                }
                let host = host
                    .rsplit_once(':')
                    .filter(|(_, p)| p.chars().all(|c| c.is_ascii_digit()))
                    .map_or(host, |(h, _)| h);
                let host = host.to_ascii_lowercase();
                match host.strip_suffix(base.as_str()).and_then(|h| h.strip_suffix('.')) {
                    Some(sub) if !sub.is_empty() => Ok(sub.to_string()),
                    _ => Err(WebError::tenant_missing(format!("the host is not a subdomain of `{base}`"))),
                }
            }
            Kind::PathSegment(index) => parts
                .uri
                .path()
                .split('/')
                .filter(|s| !s.is_empty())
                .nth(*index)
                .map(str::to_string)
                .ok_or_else(|| WebError::tenant_missing(format!("the path has no segment {index}"))),
            #[cfg(feature = "jwt")]
            Kind::Jwt(jwt) => {
                let token = bearer(&parts.headers)?;
                let data = jsonwebtoken::decode::<serde_json::Value>(token, &jwt.key, &jwt.validation)
                    .map_err(|e| WebError::unauthenticated(format!("invalid token: {e}")))?;
                match data.claims.get(&jwt.claim) {
                    Some(serde_json::Value::String(s)) => Ok(s.clone()),
                    Some(serde_json::Value::Number(n)) => Ok(n.to_string()),
                    _ => Err(WebError::unauthenticated(format!("the token has no `{}` claim", jwt.claim))),
                }
            }
            Kind::Custom(r) => r.resolve(parts).await,
        }
    }
}

/// Why a [`TenantResolver`] could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the `{0}` strategy trusts whatever the client sends: add an authorization hook with `.authorize(..)`, or opt in with `Strategy::trusted_{0}`"
)]
pub struct UntrustedStrategy(pub &'static str);

/// Resolves, authorizes and admits the tenant of a request. Cheap to clone.
#[derive(Clone)]
pub struct TenantResolver {
    inner: Arc<Inner>,
}

struct Inner {
    strategy: Strategy,
    authorize: Option<Box<dyn Authorize>>,
    admit: Admit,
}

/// Admits a tenant through the `Db` (every policy, asynchronous ones included).
type Admit = Box<dyn Fn(TenantId) -> BoxFuture<'static, crate::Result<Scope>> + Send + Sync>;

/// Builds a [`TenantResolver`].
#[must_use]
pub struct TenantResolverBuilder {
    strategy: Strategy,
    authorize: Option<Box<dyn Authorize>>,
    admit: Admit,
}

impl TenantResolverBuilder {
    /// The authorization hook, run before the guard exists.
    pub fn authorize(mut self, hook: impl Authorize) -> Self {
        self.authorize = Some(Box::new(hook));
        self
    }

    /// The resolver; refuses an untrusted strategy without a hook.
    pub fn build(self) -> Result<TenantResolver, UntrustedStrategy> {
        if !self.strategy.trusted && self.authorize.is_none() {
            return Err(UntrustedStrategy(self.strategy.name()));
        }
        Ok(TenantResolver {
            inner: Arc::new(Inner { strategy: self.strategy, authorize: self.authorize, admit: self.admit }),
        })
    }
}

impl TenantResolver {
    /// Resolves tenants with `strategy` and admits them through `db` (policy, audit).
    pub fn builder<DB: sqlx::Database>(db: &Db<DB>, strategy: Strategy) -> TenantResolverBuilder {
        let db = db.clone();
        let admit: Admit = Box::new(move |tenant| {
            let db = db.clone();
            Box::pin(async move { db.admit(tenant).await })
        });
        TenantResolverBuilder { strategy, authorize: None, admit }
    }

    /// The strategy's name.
    pub fn strategy(&self) -> &'static str {
        self.inner.strategy.name()
    }

    /// Resolves the request's tenant, authorizes the caller and admits the tenant.
    pub async fn resolve(&self, parts: &Parts) -> Result<Scope, WebError> {
        let raw = self.inner.strategy.extract(parts).await?;
        let tenant = TenantId::parse(&raw).map_err(WebError::invalid_tenant)?;
        if let Some(hook) = &self.inner.authorize {
            hook.authorize(parts, &tenant).await?;
        }
        (self.inner.admit)(tenant).await.map_err(WebError::from)
    }

    /// A tower layer that resolves every request (see the module docs).
    pub fn layer(&self) -> TenantLayer {
        TenantLayer { resolver: self.clone() }
    }
}

/// See [`TenantResolver::layer`].
#[derive(Clone)]
pub struct TenantLayer {
    resolver: TenantResolver,
}

impl<S> tower_layer::Layer<S> for TenantLayer {
    type Service = TenantService<S>;
    fn layer(&self, inner: S) -> TenantService<S> {
        TenantService { inner, resolver: self.resolver.clone() }
    }
}

/// See [`TenantResolver::layer`].
#[derive(Clone)]
pub struct TenantService<S> {
    inner: S,
    resolver: TenantResolver,
}

impl<S, B> tower_service::Service<Request<B>> for TenantService<S>
where
    S: tower_service::Service<Request<B>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // The clone is not ready; the one polled ready above serves this request.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let resolver = self.resolver.clone();
        Box::pin(async move {
            let (mut parts, body) = request.into_parts();
            let strategy = resolver.strategy();
            match resolver.resolve(&parts).await {
                Ok(scope) => {
                    let span = tracing::info_span!(
                        target: "tenantry",
                        "tenantry.request",
                        tenant = %scope.tenant(),
                        strategy,
                    );
                    parts.extensions.insert(scope);
                    inner.call(Request::from_parts(parts, body)).instrument(span).await
                }
                Err(e) => {
                    tracing::info!(target: "tenantry::web", strategy, code = e.code, "request refused: {}", e.message);
                    Ok(e.into_response())
                }
            }
        })
    }
}

/// The scope the [`TenantLayer`] admitted for this request.
impl<S: Send + Sync> FromRequestParts<S> for Scope {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Scope>().cloned().ok_or_else(|| WebError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "tenant_layer_missing",
            message: "the route extracts a Scope but no TenantResolver layer runs before it".to_string(),
        })
    }
}
