//! [`State`]: a shared value registered with [`App::state`](crate::App::state).

use http::request::Parts;
use http::StatusCode;

use super::rejection::Rejection;
use super::FromRequestParts;
use crate::state::AppState;

/// A shared value registered with [`App::state`](crate::App::state), cloned out for the
/// handler (wrap big or mutable state in an `Arc`).
///
/// A `State<T>` whose `T` was never registered is a programming error: the request is
/// answered with 500 and the log says which type is missing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct State<T>(pub T);

impl<T: Clone + Send + Sync + 'static> FromRequestParts for State<T> {
    type Rejection = Rejection;

    async fn from_request_parts(_: &mut Parts, state: &AppState) -> Result<Self, Rejection> {
        match state.get::<T>() {
            Some(value) => Ok(State(value.clone())),
            None => {
                let name = std::any::type_name::<T>();
                tracing::error!(
                    state = name,
                    "State<{name}> requested but never registered with App::state"
                );
                Err(Rejection::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "missing_state",
                    &["state"],
                    format!("server misconfigured: no state of type `{name}` (register it with App::state)"),
                ))
            }
        }
    }
}
