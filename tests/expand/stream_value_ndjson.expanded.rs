use sse_runtime::{route, Query, Stream};
struct Limit {
    n: u32,
}
#[doc(hidden)]
#[allow(
    non_upper_case_globals,
    unused_attributes,
    unused_qualifications,
    clippy::absolute_paths,
)]
const _: () = {
    #[allow(unused_extern_crates, clippy::useless_attribute)]
    extern crate serde as _serde;
    #[automatically_derived]
    impl<'de> _serde::Deserialize<'de> for Limit {
        fn deserialize<__D>(
            __deserializer: __D,
        ) -> _serde::__private229::Result<Self, __D::Error>
        where
            __D: _serde::Deserializer<'de>,
        {
            #[allow(non_camel_case_types)]
            #[doc(hidden)]
            enum __Field {
                __field0,
                __ignore,
            }
            #[doc(hidden)]
            struct __FieldVisitor;
            #[automatically_derived]
            impl<'de> _serde::de::Visitor<'de> for __FieldVisitor {
                type Value = __Field;
                fn expecting(
                    &self,
                    __formatter: &mut _serde::__private229::Formatter,
                ) -> _serde::__private229::fmt::Result {
                    _serde::__private229::Formatter::write_str(
                        __formatter,
                        "field identifier",
                    )
                }
                fn visit_u64<__E>(
                    self,
                    __value: u64,
                ) -> _serde::__private229::Result<Self::Value, __E>
                where
                    __E: _serde::de::Error,
                {
                    match __value {
                        0u64 => _serde::__private229::Ok(__Field::__field0),
                        _ => _serde::__private229::Ok(__Field::__ignore),
                    }
                }
                fn visit_str<__E>(
                    self,
                    __value: &str,
                ) -> _serde::__private229::Result<Self::Value, __E>
                where
                    __E: _serde::de::Error,
                {
                    match __value {
                        "n" => _serde::__private229::Ok(__Field::__field0),
                        _ => _serde::__private229::Ok(__Field::__ignore),
                    }
                }
                fn visit_bytes<__E>(
                    self,
                    __value: &[u8],
                ) -> _serde::__private229::Result<Self::Value, __E>
                where
                    __E: _serde::de::Error,
                {
                    match __value {
                        b"n" => _serde::__private229::Ok(__Field::__field0),
                        _ => _serde::__private229::Ok(__Field::__ignore),
                    }
                }
            }
            #[automatically_derived]
            impl<'de> _serde::Deserialize<'de> for __Field {
                #[inline]
                fn deserialize<__D>(
                    __deserializer: __D,
                ) -> _serde::__private229::Result<Self, __D::Error>
                where
                    __D: _serde::Deserializer<'de>,
                {
                    _serde::Deserializer::deserialize_identifier(
                        __deserializer,
                        __FieldVisitor,
                    )
                }
            }
            #[doc(hidden)]
            struct __Visitor<'de> {
                marker: _serde::__private229::PhantomData<Limit>,
                lifetime: _serde::__private229::PhantomData<&'de ()>,
            }
            #[automatically_derived]
            impl<'de> _serde::de::Visitor<'de> for __Visitor<'de> {
                type Value = Limit;
                fn expecting(
                    &self,
                    __formatter: &mut _serde::__private229::Formatter,
                ) -> _serde::__private229::fmt::Result {
                    _serde::__private229::Formatter::write_str(
                        __formatter,
                        "struct Limit",
                    )
                }
                #[inline]
                fn visit_seq<__A>(
                    self,
                    mut __seq: __A,
                ) -> _serde::__private229::Result<Self::Value, __A::Error>
                where
                    __A: _serde::de::SeqAccess<'de>,
                {
                    let __field0 = match _serde::de::SeqAccess::next_element::<
                        u32,
                    >(&mut __seq)? {
                        _serde::__private229::Some(__value) => __value,
                        _serde::__private229::None => {
                            return _serde::__private229::Err(
                                _serde::de::Error::invalid_length(
                                    0usize,
                                    &"struct Limit with 1 element",
                                ),
                            );
                        }
                    };
                    _serde::__private229::Ok(Limit { n: __field0 })
                }
                #[inline]
                fn visit_map<__A>(
                    self,
                    mut __map: __A,
                ) -> _serde::__private229::Result<Self::Value, __A::Error>
                where
                    __A: _serde::de::MapAccess<'de>,
                {
                    let mut __field0: _serde::__private229::Option<u32> = _serde::__private229::None;
                    while let _serde::__private229::Some(__key) = _serde::de::MapAccess::next_key::<
                        __Field,
                    >(&mut __map)? {
                        match __key {
                            __Field::__field0 => {
                                if _serde::__private229::Option::is_some(&__field0) {
                                    return _serde::__private229::Err(
                                        <__A::Error as _serde::de::Error>::duplicate_field("n"),
                                    );
                                }
                                __field0 = _serde::__private229::Some(
                                    _serde::de::MapAccess::next_value::<u32>(&mut __map)?,
                                );
                            }
                            _ => {
                                let _ = _serde::de::MapAccess::next_value::<
                                    _serde::de::IgnoredAny,
                                >(&mut __map)?;
                            }
                        }
                    }
                    let __field0 = match __field0 {
                        _serde::__private229::Some(__field0) => __field0,
                        _serde::__private229::None => {
                            _serde::__private229::de::missing_field("n")?
                        }
                    };
                    _serde::__private229::Ok(Limit { n: __field0 })
                }
            }
            #[doc(hidden)]
            const FIELDS: &'static [&'static str] = &["n"];
            _serde::Deserializer::deserialize_struct(
                __deserializer,
                "Limit",
                FIELDS,
                __Visitor {
                    marker: _serde::__private229::PhantomData::<Limit>,
                    lifetime: _serde::__private229::PhantomData,
                },
            )
        }
    }
};
/// No generator: the function returns a stream value, sent as JSON Lines.
///
/// Route `GET /numbers` (JSON Lines), generated by `#[route]`: register it with `App::new().route(numbers)`; `numbers::call(...)` runs the function directly.
#[allow(non_camel_case_types)]
struct numbers;
impl ::core::clone::Clone for numbers {
    fn clone(&self) -> Self {
        *self
    }
}
impl ::core::marker::Copy for numbers {}
impl ::core::fmt::Debug for numbers {
    fn fmt(&self, __formatter: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
        __formatter.write_str("numbers")
    }
}
impl numbers {
    /// Runs `numbers` directly, without HTTP: pass the extractor values and get the stream it yields (`impl Stream`), before any encoding. Useful in unit tests; to serve it, register `numbers` with `App::route`.
    fn call(Query(limit): Query<Limit>) -> impl Stream<Item = u32> {
        futures_util::stream::iter(0..limit.n)
    }
}
impl ::sse_runtime::IntoRoute for numbers {
    fn into_route(self) -> ::sse_runtime::RouteDef {
        ::sse_runtime::__private::openapi::document(
            ::sse_runtime::RouteDef::new(
                ::sse_runtime::__private::Method::GET,
                "/numbers",
                self,
            ),
            |__doc| {
                #[allow(unused_imports)]
                use ::sse_runtime::__private::openapi::{
                    Described as _, Lenient as _, Undescribed as _,
                };
                let __doc = __doc
                    .operation_id("numbers")
                    .doc_comment(
                        " No generator: the function returns a stream value, sent as JSON Lines.",
                    );
                let __doc = (&&&::sse_runtime::__private::openapi::Arg::<
                    Query<Limit>,
                >::NEW)
                    .describe(__doc);
                let __doc = (&&&::sse_runtime::__private::openapi::JsonLine::<u32>::NEW)
                    .describe(__doc);
                __doc
            },
        )
    }
}
impl ::sse_runtime::Handler<::sse_runtime::__private::Generated> for numbers {
    fn call(
        &self,
        __req: ::sse_runtime::Request,
        __state: ::sse_runtime::__private::AppState,
    ) -> ::sse_runtime::__private::BoxFuture {
        ::sse_runtime::__private::handle(async move {
            let __arg0 = ::sse_runtime::__private::from_request::<
                Query<Limit>,
                _,
            >(__req, &__state)
                .await?;
            let __stream = numbers::call(__arg0);
            ::core::result::Result::Ok(
                ::sse_runtime::IntoResponse::into_response(
                    ::sse_runtime::__private::json_lines::<u32, _>(__stream),
                ),
            )
        })
    }
    fn requirements(&self, __requirements: &mut ::sse_runtime::extract::Requirements) {
        #[allow(unused_imports)]
        use ::sse_runtime::__private::{
            RequireNothing as _, RequireParts as _, RequireRequest as _,
        };
        (&&&::sse_runtime::__private::Require::<Query<Limit>>::NEW)
            .require(__requirements);
    }
}
fn main() {}
