//! The address policy for `?url=` mirroring (pure): which IP addresses the service may connect to.
//!
//! Public unicast only, unless private addresses are allowed (`--allow-private-urls`) or an
//! address is on the explicit allow-list (tests allow one loopback server and nothing else).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Which addresses a remote fetch may reach.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressPolicy {
    /// Allow every address (loopback, private, link-local…): for tests and trusted networks.
    pub allow_private: bool,
    /// Addresses allowed even though they are not public.
    pub allow_list: Vec<IpAddr>,
}

/// Why an address is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Loopback,
    Private,
    LinkLocal,
    SharedCgnat,
    Multicast,
    Unspecified,
    Broadcast,
    Documentation,
    Reserved,
    UniqueLocal,
    Tunnel,
}

impl Refusal {
    /// A short description for error messages.
    pub fn describe(self) -> &'static str {
        match self {
            Refusal::Loopback => "a loopback address",
            Refusal::Private => "a private-network address",
            Refusal::LinkLocal => "a link-local address",
            Refusal::SharedCgnat => "a carrier-grade NAT address",
            Refusal::Multicast => "a multicast address",
            Refusal::Unspecified => "the unspecified address",
            Refusal::Broadcast => "the broadcast address",
            Refusal::Documentation => "a documentation address",
            Refusal::Reserved => "a reserved address",
            Refusal::UniqueLocal => "an IPv6 unique-local address",
            Refusal::Tunnel => "an IPv6 transition address that carries an IPv4 address",
        }
    }
}

impl AddressPolicy {
    /// `Ok` when the address may be contacted.
    pub fn check(&self, ip: IpAddr) -> Result<(), Refusal> {
        if self.allow_private || self.allow_list.contains(&ip) {
            return Ok(());
        }
        classify(ip).map_or(Ok(()), Err)
    }
}

/// The reason an address is not public unicast, if it is not.
pub fn classify(ip: IpAddr) -> Option<Refusal> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<Refusal> {
    let [a, b, c, _] = ip.octets();
    if ip.is_unspecified() || a == 0 {
        Some(Refusal::Unspecified)
    } else if ip.is_loopback() {
        Some(Refusal::Loopback)
    } else if ip.is_private() {
        Some(Refusal::Private)
    } else if ip.is_link_local() {
        Some(Refusal::LinkLocal)
    } else if a == 100 && (64..128).contains(&b) {
        Some(Refusal::SharedCgnat)
    } else if ip.is_multicast() {
        Some(Refusal::Multicast)
    } else if ip.is_broadcast() {
        Some(Refusal::Broadcast)
    } else if ip.is_documentation() || (a == 198 && (18..20).contains(&b)) {
        Some(Refusal::Documentation)
    } else if a >= 240 || (a == 192 && b == 0 && c == 0) {
        Some(Refusal::Reserved)
    } else {
        None
    }
}

fn classify_v6(ip: Ipv6Addr) -> Option<Refusal> {
    // IPv4-mapped (::ffff:a.b.c.d) and the deprecated IPv4-compatible (::a.b.c.d) forms carry an
    // IPv4 address: judge that address.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return classify_v4(v4);
    }
    let seg = ip.segments();
    if ip.is_unspecified() {
        return Some(Refusal::Unspecified);
    }
    if ip.is_loopback() {
        return Some(Refusal::Loopback);
    }
    // The IPv4 address in two segments.
    let v4 = |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    if seg[..6] == [0; 6] {
        return classify_v4(v4(seg[6], seg[7])).or(Some(Refusal::Reserved));
    }
    // Transition mechanisms route to an IPv4 address through a relay or translator that may sit
    // inside a private network: refused, with the embedded address's own reason when it has one.
    // IPv4-translated (::ffff:0:a.b.c.d, SIIT).
    if seg[..6] == [0, 0, 0, 0, 0xffff, 0] {
        return classify_v4(v4(seg[6], seg[7])).or(Some(Refusal::Tunnel));
    }
    // 6to4 (2002:aabb:ccdd::/48 carries a.b.c.d).
    if seg[0] == 0x2002 {
        return classify_v4(v4(seg[1], seg[2])).or(Some(Refusal::Tunnel));
    }
    // Teredo (2001:0::/32: the server's address, then the client's, obfuscated by inversion).
    if seg[0] == 0x2001 && seg[1] == 0 {
        return classify_v4(v4(!seg[6], !seg[7]))
            .or_else(|| classify_v4(v4(seg[2], seg[3])))
            .or(Some(Refusal::Tunnel));
    }
    // NAT64 local-use prefix (64:ff9b:1::/48): a site's own translator.
    if seg[0] == 0x0064 && seg[1] == 0xff9b && seg[2] == 1 {
        return classify_v4(v4(seg[6], seg[7])).or(Some(Refusal::Tunnel));
    }
    if ip.is_multicast() {
        return Some(Refusal::Multicast);
    }
    match seg[0] {
        s if s & 0xfe00 == 0xfc00 => Some(Refusal::UniqueLocal),
        s if s & 0xffc0 == 0xfe80 => Some(Refusal::LinkLocal),
        s if s & 0xffc0 == 0xfec0 => Some(Refusal::Reserved), // deprecated site-local
        0x2001 if seg[1] == 0x0db8 => Some(Refusal::Documentation),
        // 64:ff9b::/96 (NAT64) embeds an IPv4 address.
        0x0064 if seg[1] == 0xff9b && seg[2..6] == [0; 4] => classify_v4(v4(seg[6], seg[7])),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(s: &str) -> Option<Refusal> {
        classify(s.parse().expect("ip"))
    }

    #[test]
    fn refuses_every_non_public_range() {
        let cases = [
            ("127.0.0.1", Refusal::Loopback),
            ("127.0.0.2", Refusal::Loopback),
            ("0.0.0.0", Refusal::Unspecified),
            ("10.1.2.3", Refusal::Private),
            ("172.16.0.1", Refusal::Private),
            ("172.31.255.255", Refusal::Private),
            ("192.168.1.1", Refusal::Private),
            ("169.254.169.254", Refusal::LinkLocal),
            ("100.64.0.1", Refusal::SharedCgnat),
            ("100.127.255.255", Refusal::SharedCgnat),
            ("224.0.0.1", Refusal::Multicast),
            ("255.255.255.255", Refusal::Broadcast),
            ("240.0.0.1", Refusal::Reserved),
            ("::1", Refusal::Loopback),
            ("::", Refusal::Unspecified),
            ("::ffff:127.0.0.1", Refusal::Loopback),
            ("::ffff:10.0.0.1", Refusal::Private),
            ("::ffff:169.254.169.254", Refusal::LinkLocal),
            ("::127.0.0.1", Refusal::Loopback),
            ("fc00::1", Refusal::UniqueLocal),
            ("fd12:3456::1", Refusal::UniqueLocal),
            ("fe80::1", Refusal::LinkLocal),
            ("ff02::1", Refusal::Multicast),
            ("64:ff9b::a00:1", Refusal::Private),
            // IPv4-translated, 6to4, Teredo and NAT64 local-use: the embedded address's reason
            // when it has one, else refused as a tunnel.
            ("::ffff:0:7f00:1", Refusal::Loopback),
            ("::ffff:0:808:808", Refusal::Tunnel),
            ("2002:a00:1::1", Refusal::Private),
            ("2002:a9fe:a9fe::1", Refusal::LinkLocal),
            ("2002:808:808::1", Refusal::Tunnel),
            // Teredo server 65.54.227.120, client 10.0.0.1 (stored inverted: f5ff:fffe).
            ("2001:0:4136:e378:8000:63bf:f5ff:fffe", Refusal::Private),
            ("2001:0:4136:e378:8000:63bf:f7f7:f7f7", Refusal::Tunnel),
            ("2001:0:a00:1::f7f7:f7f7", Refusal::Private),
            ("64:ff9b:1::a00:1", Refusal::Private),
            ("64:ff9b:1::808:808", Refusal::Tunnel),
        ];
        for (ip, expected) in cases {
            assert_eq!(refused(ip), Some(expected), "{ip}");
        }
    }

    #[test]
    fn allows_public_addresses() {
        for ip in [
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::1111",
        ] {
            assert_eq!(refused(ip), None, "{ip}");
        }
    }

    #[test]
    fn allow_list_and_allow_private() {
        let one: IpAddr = "127.0.0.1".parse().expect("ip");
        let policy = AddressPolicy {
            allow_private: false,
            allow_list: vec![one],
        };
        assert!(policy.check(one).is_ok());
        assert_eq!(
            policy.check("127.0.0.2".parse().expect("ip")),
            Err(Refusal::Loopback)
        );
        let open = AddressPolicy {
            allow_private: true,
            allow_list: vec![],
        };
        assert!(open.check("10.0.0.1".parse().expect("ip")).is_ok());
    }
}
