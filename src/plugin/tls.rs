//! \[transport\] go-plugin AutoMTLS with rustls: our throw-away identity, the pinned-certificate
//! verifiers for both directions, and the server/client configurations built from them.
//! Public so that test hosts reuse exactly this code instead of a second TLS stack.
//!
//! Three choices here are not style but compatibility, each learned the hard way:
//! - The crypto provider is **aws-lc-rs**. The host's certificate is ECDSA P-521; rustls
//!   only advertises the signature schemes its provider can verify, ring cannot verify
//!   P-521, and Go then silently sends *no* client certificate.
//! - Peers are **pinned by DER**, not verified by webpki. go-plugin certificates are
//!   self-signed with `CA:TRUE` and used as leaves, which webpki rejects
//!   (`CaUsedAsEndEntity`). The pinned verifiers still check every handshake signature
//!   with the provider's algorithms, and hint no CA names (Go then offers its one cert).
//! - **ALPN `h2`** on both sides: grpc-go ≥ 1.67 drops connections without it.
//!
//! TLS 1.3 only: Go offers it on both ends, and rustls with P-521 under TLS 1.2 has an
//! open signature bug report. This module does not open sockets (see `listener`, `dial`).

use std::fmt;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SerialNumber, SignatureAlgorithm,
};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, DistinguishedName as TlsDn,
    ServerConfig, SignatureScheme,
};

use super::Error;

/// The name both ends verify; go-plugin dials `localhost` whatever the address.
pub const SERVER_NAME: &str = "localhost";

/// The ALPN protocol gRPC negotiates.
pub const ALPN_H2: &[u8] = b"h2";

/// The rustls crypto provider every configuration here uses (aws-lc-rs, for P-521).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// A self-signed certificate and its private key, generated fresh for each process.
pub struct Identity {
    cert: CertificateDer<'static>,
    key: PrivatePkcs8KeyDer<'static>,
    pem: String,
}

impl fmt::Debug for Identity {
    // The private key stays out of every log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("cert_der_len", &self.cert.len())
            .finish_non_exhaustive()
    }
}

impl Identity {
    /// The plugin's identity: ECDSA P-256/SHA-256, SAN and CN `localhost`, EKU serverAuth
    /// and clientAuth (the same certificate is our server certificate on the main listener
    /// and our client certificate on broker dials), not a CA.
    pub fn generate() -> Result<Self, Error> {
        Self::build(&rcgen::PKCS_ECDSA_P256_SHA256, false, None)
    }

    /// A certificate shaped like the one a go-plugin host sends in `PLUGIN_CLIENT_CERT`:
    /// ECDSA P-521/SHA-512, self-signed `CA:TRUE` with CertSign, O=`HashiCorp`. For test
    /// hosts; it exercises every trap the real host certificate sets.
    pub fn generate_host() -> Result<Self, Error> {
        Self::build(&rcgen::PKCS_ECDSA_P521_SHA512, true, Some("HashiCorp"))
    }

    fn build(
        alg: &'static SignatureAlgorithm,
        is_ca: bool,
        organization: Option<&str>,
    ) -> Result<Self, Error> {
        let key_pair = KeyPair::generate_for(alg)?;
        let mut params = CertificateParams::new(vec![SERVER_NAME.to_owned()])?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, SERVER_NAME);
        if let Some(org) = organization {
            dn.push(DnType::OrganizationName, org);
        }
        params.distinguished_name = dn;
        // Same window as go-plugin: 30 s of clock skew back, ~30 years forward.
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::seconds(30);
        params.not_after = now + time::Duration::hours(262_980);
        let mut serial: [u8; 16] = rand::random();
        serial[0] &= 0x7f; // keep the DER INTEGER positive
        params.serial_number = Some(SerialNumber::from_slice(&serial));
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
            KeyUsagePurpose::KeyAgreement,
        ];
        if is_ca {
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params.key_usages.push(KeyUsagePurpose::KeyCertSign);
        }
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ClientAuth,
            ExtendedKeyUsagePurpose::ServerAuth,
        ];
        let cert = params.self_signed(&key_pair)?;
        Ok(Identity {
            pem: cert.pem(),
            cert: cert.der().clone(),
            key: PrivatePkcs8KeyDer::from(key_pair.serialize_der()),
        })
    }

    /// The certificate's DER (what the handshake line carries).
    pub fn cert_der(&self) -> &CertificateDer<'static> {
        &self.cert
    }

    /// The certificate as PEM (what a host puts in `PLUGIN_CLIENT_CERT`).
    pub fn cert_pem(&self) -> &str {
        &self.pem
    }

    /// A verifier that accepts exactly this identity's certificate.
    pub fn pinned(&self) -> PinnedCert {
        PinnedCert::new(self.cert.clone())
    }

    fn private_key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(self.key.clone_key())
    }
}

/// Accepts exactly one certificate, compared byte for byte, and verifies the peer's
/// handshake signatures with it. Implements both [`ClientCertVerifier`] (our listener) and
/// [`ServerCertVerifier`] (our broker dials).
///
/// Validity dates and the server name are deliberately not checked: the peer is pinned to
/// a certificate the other end generated for this one process, which is a stronger
/// statement than any chain or name check could make.
#[derive(Clone)]
pub struct PinnedCert {
    der: CertificateDer<'static>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl fmt::Debug for PinnedCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PinnedCert")
            .field("der_len", &self.der.len())
            .finish_non_exhaustive()
    }
}

impl PinnedCert {
    /// Pins a DER certificate.
    pub fn new(der: CertificateDer<'static>) -> Self {
        PinnedCert {
            der,
            algorithms: provider().signature_verification_algorithms,
        }
    }

    /// Pins the first certificate of a PEM document (`PLUGIN_CLIENT_CERT`).
    pub fn from_pem(pem: &str) -> Result<Self, Error> {
        CertificateDer::from_pem_slice(pem.as_bytes())
            .map(|der| Self::new(der.into_owned()))
            .map_err(|e| Error::InvalidClientCert(e.to_string()))
    }

    /// The pinned certificate.
    pub fn der(&self) -> &CertificateDer<'static> {
        &self.der
    }

    fn check(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
    ) -> Result<(), rustls::Error> {
        // go-plugin peers send their single self-signed certificate and nothing else.
        if end_entity.as_ref() == self.der.as_ref() && intermediates.is_empty() {
            Ok(())
        } else {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn tls12(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn tls13(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }
}

impl ClientCertVerifier for PinnedCert {
    fn root_hint_subjects(&self) -> &[TlsDn] {
        // Empty hints: Go then sends its certificate without matching issuer names.
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.check(end_entity, intermediates)
            .map(|()| ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.tls12(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.tls13(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

impl ServerCertVerifier for PinnedCert {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.check(end_entity, intermediates)
            .map(|()| ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.tls12(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.tls13(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// The listener side: presents `identity`, requires a client certificate equal to
/// `client`, TLS 1.3, ALPN `h2`.
pub fn server_config(identity: &Identity, client: PinnedCert) -> Result<Arc<ServerConfig>, Error> {
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_client_cert_verifier(Arc::new(client))
        .with_single_cert(vec![identity.cert.clone()], identity.private_key())?;
    config.alpn_protocols = vec![ALPN_H2.to_vec()];
    Ok(Arc::new(config))
}

/// The dialling side: presents `identity` as client certificate, accepts only a server
/// certificate equal to `server`, TLS 1.3, ALPN `h2`. Dial with SNI [`SERVER_NAME`].
pub fn client_config(identity: &Identity, server: PinnedCert) -> Result<Arc<ClientConfig>, Error> {
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(server))
        .with_client_auth_cert(vec![identity.cert.clone()], identity.private_key())?;
    config.alpn_protocols = vec![ALPN_H2.to_vec()];
    Ok(Arc::new(config))
}

/// A client configuration that presents no certificate (and pins `server`): what a peer
/// without AutoMTLS credentials looks like. For tests of the refusal path.
pub fn anonymous_client_config(server: PinnedCert) -> Result<Arc<ClientConfig>, Error> {
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(server))
        .with_no_client_auth();
    config.alpn_protocols = vec![ALPN_H2.to_vec()];
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_identity_is_shaped_like_go_plugins() {
        let host = Identity::generate_host().expect("host identity");
        let pem = host.cert_pem();
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
        // P-521 + SHA-512 certificates are ~590 bytes; P-256 ones ~400.
        assert!(host.cert_der().len() > 500, "{}", host.cert_der().len());
        let pinned = PinnedCert::from_pem(pem).expect("pem parses");
        assert_eq!(pinned.der(), host.cert_der());
    }

    #[test]
    fn plugin_identity_is_small_and_fresh() {
        let a = Identity::generate().expect("identity");
        let b = Identity::generate().expect("identity");
        assert!(a.cert_der().len() < 500);
        assert_ne!(a.cert_der(), b.cert_der(), "a new key per process");
        let dbg = format!("{a:?}");
        assert!(!dbg.contains("PRIVATE"), "{dbg}");
    }

    #[test]
    fn pinned_verifier_accepts_only_the_pinned_der() {
        let host = Identity::generate_host().expect("host");
        let other = Identity::generate_host().expect("other");
        let pinned = host.pinned();
        let now = UnixTime::now();
        assert!(pinned.verify_client_cert(host.cert_der(), &[], now).is_ok());
        assert!(
            pinned
                .verify_client_cert(other.cert_der(), &[], now)
                .is_err()
        );
        // Extra chain elements are refused, even after the right leaf.
        let chain = [other.cert_der().clone()];
        assert!(
            pinned
                .verify_client_cert(host.cert_der(), &chain, now)
                .is_err()
        );
        let name = ServerName::try_from(SERVER_NAME).expect("name");
        assert!(
            pinned
                .verify_server_cert(host.cert_der(), &[], &name, &[], now)
                .is_ok()
        );
        assert!(
            pinned
                .verify_server_cert(other.cert_der(), &[], &name, &[], now)
                .is_err()
        );
    }

    #[test]
    fn verifiers_offer_p521_and_no_ca_hints() {
        let pinned = Identity::generate_host().expect("host").pinned();
        let schemes = ClientCertVerifier::supported_verify_schemes(&pinned);
        assert!(
            schemes.contains(&SignatureScheme::ECDSA_NISTP521_SHA512),
            "{schemes:?}"
        );
        assert!(ClientCertVerifier::root_hint_subjects(&pinned).is_empty());
        assert!(pinned.client_auth_mandatory());
    }

    #[test]
    fn configs_are_tls13_with_h2() {
        let me = Identity::generate().expect("identity");
        let host = Identity::generate_host().expect("host");
        let server = server_config(&me, host.pinned()).expect("server config");
        assert_eq!(server.alpn_protocols, vec![b"h2".to_vec()]);
        let client = client_config(&me, host.pinned()).expect("client config");
        assert_eq!(client.alpn_protocols, vec![b"h2".to_vec()]);
        assert!(client.client_auth_cert_resolver.has_certs());
    }

    #[test]
    fn garbage_pem_is_a_clear_error() {
        let err = PinnedCert::from_pem("not a certificate").expect_err("garbage");
        assert!(err.to_string().starts_with("PLUGIN_CLIENT_CERT"), "{err}");
    }
}
