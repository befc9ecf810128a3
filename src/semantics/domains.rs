//! Trusted domains: which request domains are allowed when some are configured.

use url::Url;

/// Normalises what a user typed as a domain (`Example.COM.`, `https://example.com/x`)
/// to a lowercase host name.
pub fn normalize_domain(input: &str) -> Result<String, String> {
    let trimmed = input.trim();
    let with_scheme = if trimmed.contains("://") {
        trimmed.to_string()
    } else {
        format!("http://{trimmed}")
    };
    let host = Url::parse(&with_scheme)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .filter(|h| !h.is_empty())
        .ok_or_else(|| {
            format!("{input:?} is not a domain name (expected something like example.com)")
        })?;
    Ok(host
        .trim_end_matches('.')
        .trim_start_matches("*.")
        .to_ascii_lowercase())
}

/// The host a page URL names, as a browser would take it: absolute URLs, and also
/// protocol-relative (`//evil.net/x`) and scheme-less (`evil.net/x`) ones, which would
/// otherwise slip past a domain check. A path alone (`/x`) names no host.
pub fn host_of_url(url: &str) -> Option<String> {
    let text = url.trim();
    if text.is_empty() || text.starts_with(['?', '#']) {
        return None;
    }
    let parsed = if text.starts_with("//") || text.starts_with("\\\\") {
        Url::parse(&format!("http:{text}")).ok()
    } else if text.starts_with(['/', '\\']) {
        return None;
    } else {
        match Url::parse(text) {
            Ok(url) if url.host_str().is_some_and(|h| !h.is_empty()) => Some(url),
            // No scheme (`evil.net/x`, or `evil.net:8080/x`, read as a scheme
            // `evil.net`): the text starts with a host.
            _ => Url::parse(&format!("http://{text}")).ok(),
        }
    };
    parsed?
        .host_str()
        .filter(|h| !h.is_empty())
        .map(|h| h.trim_end_matches('.').to_ascii_lowercase())
}

/// Whether `host` is allowed: no trusted domains configured, or it is one of them or a
/// subdomain of one.
pub fn is_trusted(host: &str, trusted: &[String]) -> bool {
    trusted.is_empty()
        || trusted.iter().any(|domain| {
            host == domain
                || (host.len() > domain.len()
                    && host.ends_with(domain.as_str())
                    && host.as_bytes()[host.len() - domain.len() - 1] == b'.')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_what_people_type() {
        assert_eq!(normalize_domain("Example.COM").unwrap(), "example.com");
        assert_eq!(
            normalize_domain("https://shop.example.com/path").unwrap(),
            "shop.example.com"
        );
        assert_eq!(normalize_domain("example.com.").unwrap(), "example.com");
        assert_eq!(normalize_domain("example.com:8080").unwrap(), "example.com");
        assert!(normalize_domain("").is_err());
        assert!(normalize_domain("not a domain").is_err());
    }

    #[test]
    fn subdomains_are_trusted_lookalikes_are_not() {
        let trusted = vec!["example.com".to_string()];
        assert!(is_trusted("example.com", &trusted));
        assert!(is_trusted("shop.example.com", &trusted));
        assert!(!is_trusted("badexample.com", &trusted));
        assert!(!is_trusted("example.com.evil.net", &trusted));
        assert!(is_trusted("anything.net", &[]));
    }

    #[test]
    fn host_of_page_url() {
        assert_eq!(
            host_of_url("https://Shop.Example.com/cart?x=1").as_deref(),
            Some("shop.example.com")
        );
        assert_eq!(host_of_url("/relative"), None);
    }

    #[test]
    fn urls_without_a_scheme_name_their_host() {
        for url in [
            "//evil.net/x",
            "\\\\evil.net/x",
            "evil.net/x",
            "evil.net",
            "Evil.NET:8080/x",
            "https:evil.net/x",
            " https://evil.net/x",
        ] {
            assert_eq!(host_of_url(url).as_deref(), Some("evil.net"), "{url}");
        }
        assert_eq!(host_of_url("/x/y?z"), None);
        assert_eq!(host_of_url("?q=1"), None);
        assert_eq!(host_of_url(""), None);
    }
}
