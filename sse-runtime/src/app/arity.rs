//! The handler arities, written once: [`for_each_arity!`] calls a macro once per
//! argument list a handler may have, from none to twelve. The `Handler` impls
//! (`handler.rs`) and the OpenAPI `Describe*` impls (`openapi/describe.rs`) both use it,
//! so they always cover the same handlers.

/// Calls `$callback!(T1, ..., Tn)` for every `n` from 0 to 12.
macro_rules! for_each_arity {
    ($callback:ident) => {
        $callback!();
        $callback!(T1);
        $callback!(T1, T2);
        $callback!(T1, T2, T3);
        $callback!(T1, T2, T3, T4);
        $callback!(T1, T2, T3, T4, T5);
        $callback!(T1, T2, T3, T4, T5, T6);
        $callback!(T1, T2, T3, T4, T5, T6, T7);
        $callback!(T1, T2, T3, T4, T5, T6, T7, T8);
        $callback!(T1, T2, T3, T4, T5, T6, T7, T8, T9);
        $callback!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10);
        $callback!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11);
        $callback!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12);
    };
}

pub(crate) use for_each_arity;
