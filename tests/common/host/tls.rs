//! TLS for the test host: the AutoMTLS certificate a go-plugin host generates for every
//! launch, the pinned-certificate verifiers both ends of go-plugin use, and the rustls
//! configurations for the host's dial into the plugin and for its broker listener.
//!
//! It deliberately does not reuse the plugin's own TLS code: the host side is what the
//! conformance suite holds the plugin to, so a bug shared by both ends must not be able to
//! make a broken plugin look correct. It mirrors go-plugin's `mtls.go` and the Go TLS
//! settings of `client.go` (protocol.md §5), with rustls on the aws-lc-rs provider, the
//! only one that can sign and verify with the P-521 key go-plugin uses.

use std::sync::Arc;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType, SerialNumber,
};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms, aws_lc_rs};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{ClientConfig, DigitallySignedStruct, DistinguishedName as TlsDn, ServerConfig};
use rustls::{SignatureScheme, version};

/// A certificate and its private key, as a go-plugin host makes one per plugin launch.
pub struct Identity {
    /// PEM of the certificate: the value of `PLUGIN_CLIENT_CERT`.
    pub cert_pem: String,
    /// DER of the certificate.
    pub cert_der: CertificateDer<'static>,
    key_der: Vec<u8>,
}

impl Identity {
    /// A fresh identity exactly like go-plugin's `generateCert`: ECDSA P-521 signed with
    /// SHA-512, CN `localhost` / O `HashiCorp`, SAN `localhost`, CA:TRUE with certSign,
    /// EKU clientAuth + serverAuth, valid from 30 s ago for ~30 years, random serial.
    pub fn go_plugin_host() -> Identity {
        Identity::generate(&rcgen::PKCS_ECDSA_P521_SHA512)
    }

    /// The same certificate shape on another curve (used to build impostors).
    pub fn generate(alg: &'static rcgen::SignatureAlgorithm) -> Identity {
        let key = KeyPair::generate_for(alg).expect("generate host key");
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, "localhost");
        dn.push(DnType::OrganizationName, "HashiCorp");
        params.distinguished_name = dn;
        params.subject_alt_names = vec![SanType::DnsName(
            "localhost"
                .try_into()
                .expect("localhost is a valid DNS name"),
        )];
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - Duration::from_secs(30);
        params.not_after = now + Duration::from_secs(262_980 * 3600);
        let mut serial: [u8; 16] = rand::random();
        // Keep the DER INTEGER positive without relying on the encoder to pad it.
        serial[0] &= 0x7f;
        params.serial_number = Some(SerialNumber::from_slice(&serial));
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
            KeyUsagePurpose::KeyAgreement,
            KeyUsagePurpose::KeyCertSign,
        ];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ClientAuth,
            ExtendedKeyUsagePurpose::ServerAuth,
        ];
        let cert = params
            .self_signed(&key)
            .expect("self-sign host certificate");
        Identity {
            cert_pem: cert.pem(),
            cert_der: cert.der().clone(),
            key_der: key.serialize_der(),
        }
    }

    fn key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()))
    }
}

/// The rustls provider both ends must use (P-521 signatures).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(aws_lc_rs::default_provider())
}

/// Client configuration of the host's dial into the plugin listener: presents `identity`
/// (or nothing), trusts exactly the plugin certificate `pinned`, offers ALPN `h2`, and
/// allows TLS 1.2 and 1.3 like Go's defaults.
pub fn client_config(identity: Option<&Identity>, pinned: CertificateDer<'static>) -> ClientConfig {
    let provider = provider();
    let verifier = Arc::new(PinnedServer {
        pinned,
        algorithms: provider.signature_verification_algorithms,
    });
    let builder = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&version::TLS13, &version::TLS12])
        .expect("protocol versions supported by aws-lc-rs")
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut config = match identity {
        Some(id) => builder
            .with_client_auth_cert(vec![id.cert_der.clone()], id.key())
            .expect("client certificate accepted by rustls"),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    config
}

/// Server configuration of the host's broker listener: presents `identity` and requires
/// the client (the plugin) to present exactly `plugin_cert`; ALPN `h2`.
pub fn broker_server_config(
    identity: &Identity,
    plugin_cert: CertificateDer<'static>,
) -> ServerConfig {
    let provider = provider();
    let verifier = Arc::new(PinnedClient {
        pinned: plugin_cert,
        algorithms: provider.signature_verification_algorithms,
    });
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&version::TLS13, &version::TLS12])
        .expect("protocol versions supported by aws-lc-rs")
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![identity.cert_der.clone()], identity.key())
        .expect("host certificate accepted by rustls");
    config.alpn_protocols = vec![b"h2".to_vec()];
    config
}

/// Accepts exactly one server certificate, byte for byte, like Go's RootCAs holding only
/// the certificate from the handshake line; the handshake signature is still verified.
#[derive(Debug)]
struct PinnedServer {
    pinned: CertificateDer<'static>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for PinnedServer {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() != self.pinned.as_ref() || !intermediates.is_empty() {
            return Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer,
            ));
        }
        // Go checks the name against the SANs even for a pinned root.
        let parsed = rustls::server::ParsedCertificate::try_from(end_entity)?;
        rustls::client::verify_server_name(&parsed, server_name)?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// Requires exactly one client certificate, byte for byte, like go-plugin's broker
/// listener with ClientCAs holding only the plugin's certificate.
#[derive(Debug)]
struct PinnedClient {
    pinned: CertificateDer<'static>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for PinnedClient {
    fn root_hint_subjects(&self) -> &[TlsDn] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        if end_entity.as_ref() != self.pinned.as_ref() || !intermediates.is_empty() {
            return Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer,
            ));
        }
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
