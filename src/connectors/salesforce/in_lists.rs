//! SOQL `IN (…)` lists cut to fit the URI: a query is a GET, and Salesforce answers 414 to a URI
//! over 16,384 bytes, so a list of ids or e-mails goes in as many queries as its encoded length
//! needs, never by a fixed count.

use super::calls::{in_list, url_encode};

/// Longest percent-encoded SOQL text sent in one GET: Salesforce answers 414 to a URI over
/// 16,384 bytes, and the host, path and `?q=` need the rest.
const MAX_ENCODED_SOQL: usize = 16_384 - 1_024;

/// The queries `soql` makes of `ids`, each with as many ids in its `IN (…)` list as fit
/// [`MAX_ENCODED_SOQL`] (percent-encoding is per byte, so lengths add up).
pub(super) fn in_list_queries(ids: &[String], soql: impl Fn(&str) -> String) -> Vec<String> {
    let base = url_encode(&soql("")).len();
    let separator = url_encode(", ").len();
    let mut queries = Vec::new();
    let mut start = 0;
    let mut length = base;
    for (i, id) in ids.iter().enumerate() {
        let item = url_encode(&in_list(std::iter::once(id.as_str()))).len();
        let added = if i == start { item } else { separator + item };
        if i > start && length + added > MAX_ENCODED_SOQL {
            queries.push(soql(&in_list(ids[start..i].iter().map(String::as_str))));
            start = i;
            length = base + item;
        } else {
            length += added;
        }
    }
    if start < ids.len() {
        queries.push(soql(&in_list(ids[start..].iter().map(String::as_str))));
    }
    queries
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_many_ids_as_fit_the_uri_limit_go_in_one_query() {
        let ids: Vec<String> = (0..1_200).map(|i| format!("701{i:012}AAA")).collect();
        let soql = |list: &str| format!("SELECT Id FROM Campaign WHERE Id IN ({list})");
        let queries = in_list_queries(&ids, soql);
        assert_eq!(queries.len(), 3, "about 500 campaigns a query");
        assert!(
            queries
                .iter()
                .all(|q| url_encode(q).len() <= MAX_ENCODED_SOQL)
        );
        let listed: usize = queries.iter().map(|q| q.matches('\'').count() / 2).sum();
        assert_eq!(listed, ids.len(), "every id once");
        assert_eq!(in_list_queries(&ids[..1], soql).len(), 1);
        assert!(in_list_queries(&[], soql).is_empty());
    }
}
