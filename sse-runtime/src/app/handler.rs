//! [`Handler`]: an async function whose arguments are extractors and whose result is a
//! response, type-erased into an [`Endpoint`] the router can call.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::app::arity::for_each_arity;
use crate::extract::{FromRequest, FromRequestParts, Requirements};
use crate::response::{IntoResponse, Request, Response};
use crate::state::AppState;

/// A boxed response future.
pub type BoxFuture = Pin<Box<dyn Future<Output = Response> + Send + 'static>>;

/// An async function usable as a route: up to 12 extractor arguments (all
/// [`FromRequestParts`] but the last, which may be [`FromRequest`]) and a result that is
/// [`IntoResponse`].
///
/// ```
/// use sse_runtime::{App, Path};
///
/// async fn hello(Path(name): Path<String>) -> String {
///     format!("hello {name}")
/// }
///
/// let app = App::new().get("/hello/{name}", hello);
/// # let _ = app;
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a route handler",
    label = "not an async fn of extractors returning a response",
    note = "a handler is an `async fn` whose arguments are extractors (`Path<T>`, `Query<T>`, \
            `Json<T>` last, ...) and whose result implements `IntoResponse`"
)]
pub trait Handler<M>: Clone + Send + Sync + 'static {
    /// Extracts the arguments, runs the function and builds the response.
    fn call(&self, req: Request, state: AppState) -> BoxFuture;

    /// What the arguments need from the app, checked when it is built (see
    /// [`Requirements`]).
    fn requirements(&self, requirements: &mut Requirements) {
        let _ = requirements;
    }
}

/// A type-erased handler, as stored in the router, with what it requires of the app.
#[derive(Clone)]
pub(crate) struct Endpoint {
    call: Arc<dyn Fn(Request, AppState) -> BoxFuture + Send + Sync>,
    requirements: Arc<Requirements>,
}

impl Endpoint {
    /// Erases the handler's type.
    pub(crate) fn new<H: Handler<M>, M>(handler: H) -> Self {
        let mut requirements = Requirements::default();
        handler.requirements(&mut requirements);
        Self {
            call: Arc::new(move |req, state| handler.call(req, state)),
            requirements: Arc::new(requirements),
        }
    }

    /// Calls the handler.
    pub(crate) fn call(&self, req: Request, state: AppState) -> BoxFuture {
        (self.call)(req, state)
    }

    /// What the handler's extractors need from the app.
    pub(crate) fn requirements(&self) -> &Requirements {
        &self.requirements
    }
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Endpoint")
    }
}

macro_rules! impl_handler {
    // No argument.
    () => {
        impl<F, Fut, R> Handler<((),)> for F
        where
            F: FnOnce() -> Fut + Clone + Send + Sync + 'static,
            Fut: Future<Output = R> + Send + 'static,
            R: IntoResponse,
        {
            fn call(&self, _req: Request, _state: AppState) -> BoxFuture {
                let f = self.clone();
                Box::pin(async move { f().await.into_response() })
            }
        }
    };
    // Split the list into the head-reading arguments and the last one.
    ($($t:ident),+) => {
        impl_handler!(@split [] $($t),+);
    };
    (@split [$($part:ident),*] $head:ident, $($rest:ident),+) => {
        impl_handler!(@split [$($part,)* $head] $($rest),+);
    };
    (@split [$($part:ident),*] $last:ident) => {
        #[allow(non_snake_case, unused_mut)]
        impl<F, Fut, R, M, $($part,)* $last> Handler<(M, $($part,)* $last,)> for F
        where
            F: FnOnce($($part,)* $last) -> Fut + Clone + Send + Sync + 'static,
            Fut: Future<Output = R> + Send + 'static,
            R: IntoResponse,
            $($part: FromRequestParts + Send + 'static,)*
            $last: FromRequest<M> + Send + 'static,
        {
            fn call(&self, req: Request, state: AppState) -> BoxFuture {
                let f = self.clone();
                Box::pin(async move {
                    let (mut parts, body) = req.into_parts();
                    $(
                        let $part = match $part::from_request_parts(&mut parts, &state).await {
                            Ok(value) => value,
                            Err(rejection) => return rejection.into_response(),
                        };
                    )*
                    let req = Request::from_parts(parts, body);
                    let $last = match $last::from_request(req, &state).await {
                        Ok(value) => value,
                        Err(rejection) => return rejection.into_response(),
                    };
                    f($($part,)* $last).await.into_response()
                })
            }

            fn requirements(&self, requirements: &mut Requirements) {
                $(<$part as FromRequestParts>::requirements(requirements);)*
                <$last as FromRequest<M>>::requirements(requirements);
            }
        }
    };
}

for_each_arity!(impl_handler);
