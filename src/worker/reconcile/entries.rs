//! What reconciliation keeps per person while it reads the sides: compact entries (ids inline,
//! status names interned once, timestamps as epoch milliseconds) instead of the records the
//! APIs and the store answer with. A mirror row is ~170 bytes here against ~400 as a
//! `MirrorRow`; a Marketo member ~40 against ~180; a Salesforce member is kept only while its
//! page is read, unless no mirror row claims it.

use std::collections::HashMap;

use chrono::{SecondsFormat, TimeZone, Utc};

use crate::connectors::salesforce::CampaignMember;
use crate::store::MirrorRow;
use crate::sync::time::parse_millis;

/// A short text (Salesforce ids, person keys) held inline up to 22 bytes, boxed beyond.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Short {
    Inline { len: u8, bytes: [u8; 22] },
    Boxed(Box<str>),
}

impl Short {
    pub fn new(text: &str) -> Short {
        let mut bytes = [0; 22];
        match bytes.get_mut(..text.len()) {
            Some(head) => {
                head.copy_from_slice(text.as_bytes());
                Short::Inline {
                    len: text.len() as u8,
                    bytes,
                }
            }
            None => Short::Boxed(text.into()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            // Built from a whole `&str`, so the bytes are valid UTF-8.
            Short::Inline { len, bytes } => {
                std::str::from_utf8(&bytes[..usize::from(*len)]).unwrap_or_default()
            }
            Short::Boxed(text) => text,
        }
    }
}

/// Status names, each stored once; entries hold their number.
#[derive(Debug, Default)]
pub struct Names {
    names: Vec<Box<str>>,
    index: HashMap<Box<str>, u32>,
}

impl Names {
    pub fn id(&mut self, name: &str) -> u32 {
        if let Some(id) = self.index.get(name) {
            return *id;
        }
        let id = self.names.len() as u32;
        self.names.push(name.into());
        self.index.insert(name.into(), id);
        id
    }

    pub fn name(&self, id: u32) -> &str {
        self.names.get(id as usize).map_or("", |n| n)
    }
}

/// One mirror row; `row` gives the `MirrorRow` back when the person is looked at.
#[derive(Debug)]
pub struct MirrorEntry {
    pub person: Short,
    pub sf_member_id: Option<Short>,
    pub sf_person_id: Option<Short>,
    pub sf_status: Option<u32>,
    pub sf_modstamp: Option<i64>,
    pub mkto_lead_id: Option<i64>,
    pub mkto_status: Option<u32>,
    pub mkto_updated_at: Option<i64>,
    pub synced_at: i64,
    /// A Salesforce member of this pass was matched to this row.
    pub sf_seen: bool,
}

impl MirrorEntry {
    pub fn new(row: &MirrorRow, names: &mut Names) -> MirrorEntry {
        MirrorEntry {
            person: Short::new(&row.person),
            sf_member_id: row.sf_member_id.as_deref().map(Short::new),
            sf_person_id: row.sf_person_id.as_deref().map(Short::new),
            sf_status: row.sf_status.as_deref().map(|s| names.id(s)),
            sf_modstamp: row.sf_modstamp,
            mkto_lead_id: row.mkto_lead_id,
            mkto_status: row.mkto_status.as_deref().map(|s| names.id(s)),
            mkto_updated_at: row.mkto_updated_at,
            synced_at: row.synced_at,
            sf_seen: false,
        }
    }

    pub fn row(&self, mapping: &str, names: &Names) -> MirrorRow {
        let text = |s: &Option<Short>| s.as_ref().map(|s| s.as_str().to_string());
        MirrorRow {
            mapping: mapping.to_string(),
            person: self.person.as_str().to_string(),
            sf_member_id: text(&self.sf_member_id),
            sf_person_id: text(&self.sf_person_id),
            sf_status: self.sf_status.map(|s| names.name(s).to_string()),
            sf_modstamp: self.sf_modstamp,
            mkto_lead_id: self.mkto_lead_id,
            mkto_status: self.mkto_status.map(|s| names.name(s).to_string()),
            mkto_updated_at: self.mkto_updated_at,
            synced_at: self.synced_at,
        }
    }
}

/// One Marketo member: its status and when the membership last changed.
#[derive(Debug, Clone, Copy)]
pub struct MkEntry {
    pub status: Option<u32>,
    pub updated_at: Option<i64>,
    /// A mirror row or a new pair took this member.
    pub used: bool,
}

/// A Salesforce member no mirror row claimed: kept until people new to the mirror are paired.
#[derive(Debug)]
pub struct SfNew {
    pub id: Short,
    pub lead_id: Option<Short>,
    pub contact_id: Option<Short>,
    pub status: Option<u32>,
    pub modstamp: Option<i64>,
    pub email: Option<Box<str>>,
    pub used: bool,
}

impl SfNew {
    pub fn new(member: &CampaignMember, names: &mut Names) -> SfNew {
        SfNew {
            id: Short::new(&member.id),
            lead_id: member.lead_id.as_deref().map(Short::new),
            contact_id: member.contact_id.as_deref().map(Short::new),
            status: member.status.as_deref().map(|s| names.id(s)),
            modstamp: member.system_modstamp.as_deref().and_then(parse_millis),
            email: member.email.as_deref().map(Into::into),
            used: false,
        }
    }

    /// Salesforce keeps the ContactId when a member has both.
    pub fn person_id(&self) -> Option<&str> {
        self.contact_id
            .as_ref()
            .or(self.lead_id.as_ref())
            .map(Short::as_str)
    }

    /// The member as the API gave it (its timestamp to the millisecond).
    pub fn member(&self, campaign_id: &str, names: &Names) -> CampaignMember {
        let text = |s: &Option<Short>| s.as_ref().map(|s| s.as_str().to_string());
        CampaignMember {
            id: self.id.as_str().to_string(),
            campaign_id: campaign_id.to_string(),
            lead_id: text(&self.lead_id),
            contact_id: text(&self.contact_id),
            status: self.status.map(|s| names.name(s).to_string()),
            email: self.email.as_deref().map(str::to_string),
            system_modstamp: self.modstamp.and_then(|ms| {
                let at = Utc.timestamp_millis_opt(ms).single()?;
                Some(at.to_rfc3339_opts(SecondsFormat::Millis, true))
            }),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_texts_round_trip_inline_or_boxed() {
        for text in [
            "",
            "00Q000000000001AAA",
            "0123456789012345678901",
            "a much longer person key x",
        ] {
            assert_eq!(Short::new(text).as_str(), text);
        }
        assert!(matches!(
            Short::new("00Q000000000001AAA"),
            Short::Inline { .. }
        ));
        assert!(matches!(
            Short::new("23 bytes: 0123456789012"),
            Short::Boxed(_)
        ));
        assert_eq!(std::mem::size_of::<Option<Short>>(), 24);
    }

    #[test]
    fn a_mirror_row_and_a_member_come_back_as_they_were() {
        let mut names = Names::default();
        let row = MirrorRow {
            mapping: "webinar".into(),
            person: "42".into(),
            sf_member_id: Some("00v000000000001AAA".into()),
            sf_person_id: Some("00Q000000000001AAA".into()),
            sf_status: Some("Registered".into()),
            sf_modstamp: Some(1_700_000_000_123),
            mkto_lead_id: Some(7),
            mkto_status: Some("Registered".into()),
            mkto_updated_at: None,
            synced_at: 5,
        };
        assert_eq!(
            MirrorEntry::new(&row, &mut names).row("webinar", &names),
            row
        );
        let member = CampaignMember {
            id: "00v000000000002AAA".into(),
            campaign_id: "701000000000001AAA".into(),
            lead_id: Some("00Q000000000002AAA".into()),
            contact_id: Some("003000000000002AAA".into()),
            status: Some("Invited".into()),
            email: Some("ada@example.com".into()),
            system_modstamp: Some("2026-11-28T20:22:01.250Z".into()),
            ..Default::default()
        };
        let kept = SfNew::new(&member, &mut names);
        assert_eq!(kept.person_id(), Some("003000000000002AAA"));
        assert_eq!(kept.member("701000000000001AAA", &names), member);
        assert_eq!(names.id("Registered"), 0, "interned once");
    }
}
