//! [`AppState`]: the values an app shares with every handler, looked up by type.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::Arc;

/// Shared application state: one value per type, registered with
/// [`App::state`](crate::App::state) and read by the [`State`](crate::State) extractor.
/// Custom extractors get it in
/// [`FromRequestParts::from_request_parts`](crate::extract::FromRequestParts).
///
/// Cloning is cheap (one reference count). The framework's own settings that extractors
/// need (the request body limit) travel with it but are not part of its API.
///
/// ```
/// use sse_runtime::extract::AppState;
///
/// let state = AppState::default().with(42u32);
/// assert_eq!(state.get::<u32>(), Some(&42));
/// assert_eq!(state.get::<String>(), None);
/// ```
#[derive(Clone, Default)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Clone, Default)]
struct Inner {
    values: HashMap<TypeId, (Arc<dyn Any + Send + Sync>, &'static str)>,
    body_limit: Option<usize>,
}

/// The default limit of a request body read by [`Json`](crate::Json): 2 MiB.
pub(crate) const DEFAULT_BODY_LIMIT: usize = 2 * 1024 * 1024;

impl AppState {
    /// Adds (or replaces) the value of type `T`.
    pub fn with<T: Send + Sync + 'static>(mut self, value: T) -> Self {
        Arc::make_mut(&mut self.inner).values.insert(
            TypeId::of::<T>(),
            (Arc::new(value), std::any::type_name::<T>()),
        );
        self
    }

    /// The value of type `T`, if registered.
    pub fn get<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.inner
            .values
            .get(&TypeId::of::<T>())
            .and_then(|(value, _)| value.downcast_ref())
    }

    /// Whether a value of the type `id` is registered.
    pub(crate) fn has(&self, id: TypeId) -> bool {
        self.inner.values.contains_key(&id)
    }

    /// The names of the registered types.
    pub fn type_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.inner.values.values().map(|(_, name)| *name)
    }

    /// The request body limit for extractors that read the body
    /// ([`Limits::max_body_bytes`](crate::Limits::max_body_bytes)).
    pub(crate) fn body_limit(&self) -> usize {
        self.inner.body_limit.unwrap_or(DEFAULT_BODY_LIMIT)
    }

    pub(crate) fn set_body_limit(&mut self, limit: usize) {
        Arc::make_mut(&mut self.inner).body_limit = Some(limit);
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("types", &self.type_names().collect::<Vec<_>>())
            .finish()
    }
}
