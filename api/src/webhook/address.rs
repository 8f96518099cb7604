//! Where webhooks may go: `https://` URLs of public hosts. A partner must not be able to make
//! the server call into the municipality's own network (or the machine itself), so private,
//! loopback, link-local, unique-local, unspecified and other special addresses are refused
//! when an endpoint is registered (a literal address in the URL) and again on every delivery:
//! the host is resolved by the HTTP client through [`GuardedResolver`], which refuses the
//! name when any of its addresses is not public, so the address connected to is the address
//! checked (no window for a DNS answer that changes in between). `WEBHOOK_ALLOW_PRIVATE=true`
//! lifts both rules, and allows plain `http://` (tests, a local set-up).
use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    sync::Arc,
};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

/// The longest URL accepted.
pub const MAX_URL: usize = 2000;

/// Why a URL was refused, for a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(pub String);

/// Checks a URL given at registration: its form, its scheme and, when it names an address
/// rather than a host, the address. Returns the URL as it will be called.
pub fn check_url(value: &str, allow_private: bool) -> Result<String, Refusal> {
    let value = value.trim();
    let refuse = |m: &str| Err(Refusal(m.to_owned()));
    if value.is_empty() {
        return refuse("must not be empty");
    }
    let n = value.chars().count();
    if n > MAX_URL {
        return Err(Refusal(format!("may be at most {MAX_URL} characters, got {n}")));
    }
    let Ok(url) = Url::parse(value) else {
        return refuse("is not a URL; give an absolute URL such as `https://example.com/webhooks`");
    };
    // The url crate forgives `https:///host`, `https:host` and backslashes for `//`, taking
    // what follows as the host: a URL given so is a mistake to point out, not to guess.
    let rest = &value[url.scheme().len()..];
    if !rest.starts_with("://") || rest[3..].starts_with(['/', '\\']) {
        return refuse("is not a URL; give an absolute URL such as `https://example.com/webhooks`");
    }
    match url.scheme() {
        "https" => {}
        "http" if allow_private => {}
        "http" => return refuse("must use https:// (plain http:// is not allowed)"),
        // Where plain http:// is allowed (WEBHOOK_ALLOW_PRIVATE), the message says so.
        _ if allow_private => return refuse("must be an https:// or http:// URL"),
        _ => return refuse("must be an https:// URL"),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return refuse("must not carry a user name or password");
    }
    if url.fragment().is_some() {
        return refuse("must not have a #fragment");
    }
    // Nothing listens on port 0: no delivery could ever arrive.
    if url.port() == Some(0) {
        return refuse("must not name port 0");
    }
    match url.host() {
        None => return refuse("must name a host"),
        Some(Host::Domain(d)) if !allow_private && is_local_name(d) => {
            return refuse("must not point to this machine (localhost)");
        }
        Some(Host::Domain(_)) => {}
        Some(Host::Ipv4(ip)) if !allow_private && !is_public(IpAddr::V4(ip)) => {
            return Err(Refusal(format!(
                "must not point to a private, loopback or other non-public address ({ip})"
            )));
        }
        Some(Host::Ipv6(ip)) if !allow_private && !is_public(IpAddr::V6(ip)) => {
            return Err(Refusal(format!(
                "must not point to a private, loopback or other non-public address ({ip})"
            )));
        }
        Some(_) => {}
    }
    Ok(url.to_string())
}

/// Names that mean this machine whatever DNS says.
fn is_local_name(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    host == "localhost" || host.ends_with(".localhost")
}

/// The address of a URL's host when the URL names an address, for the check before a send
/// (the resolver is not asked about literal addresses).
pub fn literal_address(url: &Url) -> Option<IpAddr> {
    match url.host()? {
        Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
        Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
        Host::Domain(_) => None,
    }
}

/// Whether `ip` is an ordinary address on the public internet: not private (RFC 1918),
/// loopback, link-local, unique-local (fc00::/7), unspecified, shared (100.64/10),
/// multicast, broadcast, reserved, documentation or benchmarking, and not an IPv4 address
/// of those kinds wrapped in IPv6 (mapped, translated, compatible, NAT64, 6to4).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || a == 0 // "this network"
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || (a == 100 && (64..128).contains(&b)) // shared address space (carrier-grade NAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2) // documentation
        || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast (deprecated, RFC 7526)
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || (a == 198 && b == 51 && c == 100) // documentation
        || (a == 203 && b == 0 && c == 113) // documentation
        || ip.is_multicast()
        || a >= 240 // reserved, and the broadcast address
        || ip.is_broadcast())
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let s = ip.segments();
    let v4 = |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    // Addresses that carry an IPv4 address: IPv4-compatible (::a.b.c.d, deprecated), NAT64
    // (64:ff9b::/96 and 64:ff9b:1::/48), 6to4 (2002::/16).
    if s[..6] == [0; 6] && !ip.is_loopback() && !ip.is_unspecified() {
        return is_public_v4(v4(s[6], s[7]));
    }
    // IPv4-translated (::ffff:0:a.b.c.d, RFC 2765).
    if s[..4] == [0; 4] && s[4] == 0xffff && s[5] == 0 {
        return is_public_v4(v4(s[6], s[7]));
    }
    if s[0] == 0x64 && s[1] == 0xff9b && (s[2..6] == [0; 4] || s[2] == 1) {
        return is_public_v4(v4(s[6], s[7]));
    }
    if s[0] == 0x2002 {
        return is_public_v4(v4(s[1], s[2]));
    }
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // unique local
        || (s[0] & 0xffc0) == 0xfe80 // link-local
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x0100 && s[1..4] == [0, 0, 0]) // discard-only
        || (s[0] == 0x2001 && s[1] < 0x0200)) // IETF protocol assignments (Teredo, ORCHID…)
}

/// The HTTP client's resolver for webhook hosts: the system's resolver, refusing a name any
/// of whose addresses is not public.
#[derive(Debug, Default, Clone)]
pub struct GuardedResolver;

#[derive(Debug, thiserror::Error)]
#[error("{host} resolves to {ip}, which is not a public address; webhooks are not sent there")]
pub struct PrivateAddress {
    host: String,
    ip: IpAddr,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            if is_local_name(&host) {
                return Err(Box::new(PrivateAddress {
                    host,
                    ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
                }) as Box<dyn std::error::Error + Send + Sync>);
            }
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if let Some(bad) = addrs.iter().find(|a| !is_public(a.ip())) {
                return Err(Box::new(PrivateAddress { host, ip: bad.ip() }) as _);
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

impl GuardedResolver {
    pub fn shared() -> Arc<GuardedResolver> {
        Arc::new(GuardedResolver)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public(s: &str) -> bool {
        is_public(s.parse().unwrap())
    }

    #[test]
    fn special_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "127.1.2.3",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "0.1.2.3",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "240.0.0.1",
            "::",
            "::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "64:ff9b::a00:1",
            "2002:c0a8:101::1",
            "2001:db8::1",
            "::ffff:0:a00:1",
            "::ffff:0:7f00:1",
            "192.88.99.1",
        ] {
            assert!(!public(ip), "{ip} is not public");
        }
        for ip in [
            "93.184.216.34",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::6810:85e5",
            "::ffff:93.184.216.34",
            "64:ff9b::808:808",
        ] {
            assert!(public(ip), "{ip} is public");
        }
    }

    #[test]
    fn urls() {
        assert_eq!(
            check_url(" https://partner.example/hooks?x=1 ", false),
            Ok("https://partner.example/hooks?x=1".to_owned())
        );
        for (url, why) in [
            ("", "empty"),
            ("partner.example/hooks", "not a URL"),
            ("http://partner.example/hooks", "http://"),
            ("ftp://partner.example/hooks", "https://"),
            ("https://user:pw@partner.example/", "user name"),
            ("https://partner.example/#x", "fragment"),
            ("https://partner.example:0/hooks", "port 0"),
            ("https://localhost/hooks", "localhost"),
            ("https://127.0.0.1/hooks", "127.0.0.1"),
            ("https://[::1]/hooks", "::1"),
            ("https://10.1.2.3/hooks", "10.1.2.3"),
            ("https://[fd00::1]/hooks", "fd00::1"),
            ("https://169.254.169.254/latest", "169.254.169.254"),
            ("https:///partner.example/hooks", "not a URL"),
            ("https:partner.example/hooks", "not a URL"),
            ("https:\\\\partner.example\\hooks", "not a URL"),
            ("https://[::ffff:0:a00:1]/hooks", "non-public"),
        ] {
            let e = check_url(url, false).expect_err(url);
            assert!(e.0.contains(why) || url.is_empty(), "{url}: {}", e.0);
        }
        let long = format!("https://partner.example/{}", "a".repeat(MAX_URL));
        assert!(check_url(&long, false).unwrap_err().0.contains("at most"));
        assert!(check_url("http://127.0.0.1:8080/hooks", true).is_ok());
        // Where plain http:// is allowed, the refusal of another scheme names both.
        let e = check_url("ftp://127.0.0.1/hooks", true).unwrap_err();
        assert!(e.0.contains("https://") && e.0.contains("http://"), "{}", e.0);
    }
}
