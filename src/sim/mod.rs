//! Faithful simulators of the parts of Salesforce and Marketo the service uses, for the tests,
//! the benchmarks and `campaign-sync sandbox`. Each starts on a loopback port.

pub mod calls;
pub(crate) mod credentials;
pub mod fault_rules;
pub mod marketo;
pub mod salesforce;
pub(crate) mod unknown_control;

/// The address a client uses to reach a listener: an unspecified one (`0.0.0.0`, `::`, every
/// interface) is reached on loopback, so the URLs the simulators give out work as they are.
pub fn reachable(address: std::net::SocketAddr) -> std::net::SocketAddr {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    let ip = match address.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    std::net::SocketAddr::new(ip, address.port())
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_interface_is_reached_on_loopback() {
        let reached = |a: &str| super::reachable(a.parse().unwrap()).to_string();
        assert_eq!(reached("0.0.0.0:8080"), "127.0.0.1:8080");
        assert_eq!(reached("[::]:8080"), "[::1]:8080");
        assert_eq!(reached("127.0.0.2:9"), "127.0.0.2:9");
    }
}
