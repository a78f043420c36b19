//! [`TlsConfig`]: HTTPS with rustls, offering HTTP/2 and HTTP/1.1 through ALPN.
//!
//! Browsers multiplex many `EventSource`s over one HTTP/2 connection only over TLS; over
//! HTTP/1.1 they allow six connections per site, which a page with several streams
//! exhausts. Serving TLS with ALPN `h2` removes that limit.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A server certificate and key, for [`App::serve_tls`](crate::App::serve_tls).
///
/// ```
/// # fn pem() -> (Vec<u8>, Vec<u8>) {
/// #     let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
/// #     (cert.cert.pem().into_bytes(), cert.signing_key.serialize_pem().into_bytes())
/// # }
/// use sse_runtime::TlsConfig;
///
/// let (cert_pem, key_pem) = pem();
/// let tls = TlsConfig::from_pem(&cert_pem, &key_pem).expect("valid certificate and key");
/// assert_eq!(tls.alpn_protocols(), [b"h2".to_vec(), b"http/1.1".to_vec()]);
/// ```
#[must_use = "a TlsConfig does nothing until it is given to App::serve_tls"]
#[derive(Clone, Debug)]
pub struct TlsConfig {
    config: Arc<rustls::ServerConfig>,
}

/// Why a certificate or key was refused.
#[derive(Debug)]
pub struct TlsError(String);

impl std::fmt::Display for TlsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TlsError {}

impl TlsConfig {
    /// From a PEM certificate chain (leaf first) and a PEM private key (PKCS#8, PKCS#1
    /// or SEC1).
    pub fn from_pem(cert_chain: &[u8], key: &[u8]) -> Result<Self, TlsError> {
        let certs = CertificateDer::pem_slice_iter(cert_chain)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|err| TlsError(format!("invalid certificate PEM: {err}")))?;
        if certs.is_empty() {
            return Err(TlsError("no certificate found in the PEM".to_owned()));
        }
        let key = PrivateKeyDer::from_pem_slice(key)
            .map_err(|err| TlsError(format!("invalid private key PEM: {err}")))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|err| TlsError(err.to_string()))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|err| TlsError(format!("certificate and key do not fit: {err}")))?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Self {
            config: Arc::new(config),
        })
    }

    /// From PEM files.
    pub fn from_pem_files(
        cert_chain: impl AsRef<std::path::Path>,
        key: impl AsRef<std::path::Path>,
    ) -> Result<Self, TlsError> {
        let read = |path: &std::path::Path| {
            std::fs::read(path).map_err(|err| TlsError(format!("{}: {err}", path.display())))
        };
        Self::from_pem(&read(cert_chain.as_ref())?, &read(key.as_ref())?)
    }

    /// The ALPN protocols offered, in order of preference.
    pub fn alpn_protocols(&self) -> &[Vec<u8>] {
        &self.config.alpn_protocols
    }

    pub(crate) fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(Arc::clone(&self.config))
    }
}
