//! Dead letters whose change is behind the times: a later write for the same person in the same
//! mapping landed since they died (applied, or found both sides in sync), so replaying one
//! changes nothing. Listings mark them; the status counts already leave them out.

use std::collections::HashSet;

use sqlx::Row;

use super::{Store, StoreError};

impl Store {
    /// The ids among these dead signals whose person's later write in the same mapping landed
    /// since their last outcome (a signal revived by a later delivery may have died before,
    /// and the writes that landed between its deaths say nothing of its last). 500 ids a query.
    pub async fn superseded(&self, ids: &[i64]) -> Result<HashSet<i64>, StoreError> {
        let mut found = HashSet::new();
        for chunk in ids.chunks(500) {
            let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT DISTINCT d.signal_id FROM outcomes d \
                 WHERE d.signal_id IN ({}) AND d.result = 'dead' AND d.person IS NOT NULL \
                 AND NOT EXISTS (SELECT 1 FROM outcomes n WHERE n.signal_id = d.signal_id \
                   AND n.id > d.id) \
                 AND EXISTS (SELECT 1 FROM outcomes l WHERE l.person = d.person \
                   AND l.mapping = d.mapping AND l.id > d.id AND {})",
                placeholders.join(", "),
                landed("l")
            );
            // Only the placeholders vary; every id is bound.
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                query = query.bind(id);
            }
            for row in query.fetch_all(&self.pool).await? {
                found.insert(row.try_get::<i64, _>(0)?);
            }
        }
        Ok(found)
    }
}

/// The SQL condition that outcome `o` left both sides agreeing: a write applied, or a skip
/// because the other side had the status already, or held Marketo's own later change and
/// Salesforce was set to it, or a move back Salesforce was set back from. The reasons are the
/// sync's own constants, quoted here.
pub(super) fn landed(o: &str) -> String {
    use crate::sync::outcome::{ALREADY_HAS, MARKETO_WINS, SET_BACK};
    let quoted = |text: &str| format!("'{}'", text.replace('\'', "''"));
    format!(
        "({o}.result = 'applied' OR ({o}.result = 'skipped' AND ({o}.reason = {} \
         OR {o}.reason LIKE {} OR {o}.reason LIKE {} OR {o}.reason LIKE {})))",
        quoted(crate::sync::IN_SYNC),
        quoted(&format!("{ALREADY_HAS}%")),
        quoted(&format!("{MARKETO_WINS}%")),
        quoted(&format!("%{SET_BACK}")),
    )
}
