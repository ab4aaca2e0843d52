//! \[transport\] The go-plugin handshake line, the one line this process ever writes to
//! stdout: `1|5|<network>|<address>|grpc|<certificate>`. Formatting and parsing are pure;
//! `plugin::serve` writes and flushes the line once the listener is bound.
//!
//! The certificate field is the DER of our certificate in *unpadded* standard base64
//! (Go's `RawStdEncoding`). Padding breaks the host's decoder, but only when the DER length
//! is not a multiple of 3, so a padded encoder passes some runs by luck. We never print the
//! 7th (multiplexing) field: `env` refuses hosts that ask for it.

use std::fmt;
use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;

use super::env::APP_PROTOCOL_VERSION;

/// go-plugin's core protocol version, fixed at 1.
pub const CORE_PROTOCOL_VERSION: u32 = 1;

/// The kind of address the plugin listens on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    /// A unix domain socket; the address is its absolute path.
    Unix,
    /// Loopback TCP; the address is `127.0.0.1:<port>`.
    Tcp,
}

impl Network {
    /// The name go-plugin uses (`unix`, `tcp`).
    pub fn as_str(self) -> &'static str {
        match self {
            Network::Unix => "unix",
            Network::Tcp => "tcp",
        }
    }
}

/// The content of the handshake line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handshake {
    /// Where the plugin listens.
    pub network: Network,
    /// Socket path or `127.0.0.1:<port>`.
    pub address: String,
    /// DER of the plugin's TLS certificate, which the host pins.
    pub cert_der: Vec<u8>,
}

impl fmt::Display for Handshake {
    /// The line without its trailing newline.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{CORE_PROTOCOL_VERSION}|{APP_PROTOCOL_VERSION}|{}|{}|grpc|{}",
            self.network.as_str(),
            self.address,
            STANDARD_NO_PAD.encode(&self.cert_der)
        )
    }
}

impl FromStr for Handshake {
    type Err = String;

    /// Parses a line as a host would (used by tests and test hosts): trims whitespace,
    /// requires protocol 1/5, `grpc`, a known network and an unpadded certificate.
    fn from_str(line: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = line.trim().split('|').collect();
        let [core, app, network, address, protocol, cert] = parts.as_slice() else {
            return Err(format!(
                "expected 6 '|'-separated fields, got {}",
                parts.len()
            ));
        };
        if *core != CORE_PROTOCOL_VERSION.to_string() || *app != APP_PROTOCOL_VERSION.to_string() {
            return Err(format!("unexpected protocol versions {core}|{app}"));
        }
        if *protocol != "grpc" {
            return Err(format!("unexpected protocol {protocol:?}"));
        }
        let network = match *network {
            "unix" => Network::Unix,
            "tcp" => Network::Tcp,
            other => return Err(format!("unknown network {other:?}")),
        };
        let cert_der = STANDARD_NO_PAD
            .decode(cert)
            .map_err(|e| format!("certificate is not unpadded base64: {e}"))?;
        Ok(Handshake {
            network,
            address: (*address).to_owned(),
            cert_der,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // protocol.md §14, the host-side acceptance pattern.
    const LINE_PATTERN: &str = r"^1\|5\|(unix|tcp)\|[^|]+\|grpc\|[A-Za-z0-9+/]{51,}$";

    fn handshake(der_len: usize) -> Handshake {
        Handshake {
            network: Network::Unix,
            address: "/tmp/vault-plugin-aws-rs-1/plugin.sock".to_owned(),
            cert_der: (0..der_len).map(|i| (i * 7 % 251) as u8).collect(),
        }
    }

    #[test]
    fn line_matches_the_host_pattern_for_every_padding_case() {
        let re = regex_lite::Regex::new(LINE_PATTERN).expect("pattern");
        // 414, 415, 416 bytes: DER length mod 3 = 0, 1, 2 (only 0 is safe when padded).
        for len in [414, 415, 416] {
            let line = handshake(len).to_string();
            assert!(re.is_match(&line), "{line}");
            assert!(!line.contains('='), "padding in {line}");
            assert!(!line.ends_with('\n'));
        }
    }

    #[test]
    fn fields_are_in_go_plugin_order() {
        let h = Handshake {
            network: Network::Tcp,
            address: "127.0.0.1:10001".to_owned(),
            cert_der: vec![0xff; 40],
        };
        let line = h.to_string();
        let fields: Vec<&str> = line.split('|').collect();
        assert_eq!(fields[..5], ["1", "5", "tcp", "127.0.0.1:10001", "grpc"]);
        assert_eq!(fields.len(), 6, "no multiplexing field");
        // 40 bytes = 53⅓ base64 chars, unpadded: 54 chars, no '='.
        assert_eq!(fields[5].len(), 54);
    }

    #[test]
    fn parse_round_trips_and_rejects_padding() {
        let h = handshake(415);
        let parsed: Handshake = format!("{h}\n").parse().expect("parse");
        assert_eq!(parsed, h);

        let padded = format!(
            "1|5|unix|/x|grpc|{}",
            base64::prelude::BASE64_STANDARD.encode([1, 2])
        );
        assert!(padded.ends_with('='));
        let err = padded.parse::<Handshake>().expect_err("padded");
        assert!(err.contains("unpadded"), "{err}");
        assert!("1|4|unix|/x|grpc|AAAA".parse::<Handshake>().is_err());
        assert!("1|5|unix|/x|netrpc|AAAA".parse::<Handshake>().is_err());
        assert!("1|5|udp|/x|grpc|AAAA".parse::<Handshake>().is_err());
        assert!("1|5|unix|/x|grpc|AAAA|true".parse::<Handshake>().is_err());
    }
}
