//! Pairing people who are members on both sides but unknown to the mirror (a cut-over from
//! Marketo's native sync): Marketo's own link first (`sfdcContactId`, then `sfdcLeadId`), then
//! the e-mail, a Contact before a Lead and, among several, the lowest Salesforce id.

use std::collections::{BTreeMap, HashMap};

use super::entries::{SfNew, Short};
use crate::connectors::marketo::LeadRecord;
use crate::ids::SalesforceId;
use crate::store::fold_email;

/// What pairing needs of a Marketo lead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadKeys {
    pub id: i64,
    pub email: Option<Box<str>>,
    pub sfdc_lead_id: Option<Short>,
    pub sfdc_contact_id: Option<Short>,
}

impl From<LeadRecord> for LeadKeys {
    fn from(lead: LeadRecord) -> Self {
        LeadKeys {
            id: lead.id,
            email: lead.email.map(Into::into),
            sfdc_lead_id: lead.sfdc_lead_id.as_deref().map(Short::new),
            sfdc_contact_id: lead.sfdc_contact_id.as_deref().map(Short::new),
        }
    }
}

impl LeadKeys {
    /// The Salesforce person Marketo links the lead to: its Contact, else its Lead (a value
    /// that is not an id of that object is ignored).
    pub fn salesforce_person(&self) -> Option<String> {
        let valid = |raw: Option<&Short>, prefix: &str| {
            SalesforceId::parse(raw?.as_str())
                .ok()
                .filter(|id| id.prefix() == prefix)
                .map(|id| id.as_str().to_string())
        };
        valid(self.sfdc_contact_id.as_ref(), "003")
            .or_else(|| valid(self.sfdc_lead_id.as_ref(), "00Q"))
    }
}

/// One Marketo lead paired with one Salesforce member (by index), and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    pub lead_id: i64,
    pub member: usize,
    pub by: &'static str,
    /// Other unpaired Salesforce members with the same e-mail, passed over (ids).
    pub duplicates: Vec<String>,
}

/// Pairs each lead with at most one member and each member with at most one lead. Links are
/// used first for every lead, e-mails only after, so a link is never taken by an e-mail match.
/// Members are found through indexes (by Contact, Lead and folded e-mail), so a cut-over of many
/// thousands of people pairs in one pass over each side.
pub fn pair(leads: &[LeadKeys], members: &[SfNew]) -> Vec<Pair> {
    let mut by_contact: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut by_lead: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut by_email: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, member) in members.iter().enumerate() {
        if let Some(contact) = &member.contact_id {
            by_contact.entry(contact.as_str()).or_default().push(i);
        }
        if let Some(lead) = &member.lead_id {
            by_lead.entry(lead.as_str()).or_default().push(i);
        }
        if let Some(email) = &member.email {
            by_email.entry(fold_email(email)).or_default().push(i);
        }
    }
    let mut taken = vec![false; members.len()];
    let mut pairs = Vec::new();
    let mut unlinked = Vec::new();
    for lead in leads {
        let linked = |ids: &Option<Short>, index: &HashMap<&str, Vec<usize>>| {
            ids.as_ref()
                .and_then(|id| index.get(id.as_str()))
                .and_then(|found| found.iter().copied().find(|i| !taken[*i]))
        };
        // The lowest-placed member linked either way, as a scan in member order finds it.
        let found = [
            linked(&lead.sfdc_contact_id, &by_contact),
            linked(&lead.sfdc_lead_id, &by_lead),
        ]
        .into_iter()
        .flatten()
        .min();
        match found {
            Some(i) => {
                taken[i] = true;
                pairs.push(Pair {
                    lead_id: lead.id,
                    member: i,
                    by: "Marketo's Salesforce link",
                    duplicates: Vec::new(),
                });
            }
            None => unlinked.push(lead),
        }
    }
    for lead in unlinked {
        // Marketo links this lead to a Salesforce person who is not an unpaired member here:
        // it is that person's, not whoever else has the address; only a Contact may still
        // pair with a lead linked to a Lead (the Lead converted, or its better record).
        if lead.sfdc_contact_id.is_some() {
            continue;
        }
        let contacts_only = lead.sfdc_lead_id.is_some();
        let Some(email) = lead.email.as_deref().map(fold_email) else {
            continue;
        };
        // Contacts first (a converted Lead's person), then the lowest id: stable across runs.
        let mut candidates: BTreeMap<(bool, String), usize> = BTreeMap::new();
        for &i in by_email.get(&email).into_iter().flatten() {
            let refused = contacts_only && members[i].contact_id.is_none();
            if !taken[i] && !refused {
                let member = &members[i];
                let id = member.person_id().unwrap_or_default().to_string();
                candidates.insert((member.contact_id.is_none(), id), i);
            }
        }
        let mut ordered = candidates.into_iter();
        if let Some((_, i)) = ordered.next() {
            taken[i] = true;
            pairs.push(Pair {
                lead_id: lead.id,
                member: i,
                by: "e-mail",
                duplicates: ordered.map(|((_, id), _)| id).collect(),
            });
        }
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::super::entries::Names;
    use crate::connectors::salesforce::CampaignMember;

    fn lead(id: i64, email: &str, sfdc_lead: Option<&str>, sfdc_contact: Option<&str>) -> LeadKeys {
        LeadKeys {
            id,
            email: Some(email.into()),
            sfdc_lead_id: sfdc_lead.map(Short::new),
            sfdc_contact_id: sfdc_contact.map(Short::new),
        }
    }

    fn member(id: &str, email: &str) -> SfNew {
        let contact = id.starts_with("003");
        let member = CampaignMember {
            id: format!("00v{id}"),
            campaign_id: "701".into(),
            lead_id: (!contact).then(|| id.to_string()),
            contact_id: contact.then(|| id.to_string()),
            status: Some("Sent".into()),
            email: Some(email.into()),
            system_modstamp: None,
            ..Default::default()
        };
        SfNew::new(&member, &mut Names::default())
    }

    #[test]
    fn marketo_link_wins_over_email_and_contacts_win_among_duplicates() {
        let members = vec![
            member("00Q2", "a@x.com"),
            member("00Q1", "A@x.com"),
            member("0039", "a@x.com"),
            member("00Q7", "b@x.com"),
        ];
        let leads = vec![
            lead(1, "a@x.com", None, None),
            // Linked to a Lead whose e-mail differs: the link decides.
            lead(2, "other@x.com", Some("00Q7"), None),
        ];
        let pairs = pair(&leads, &members);
        assert_eq!(pairs.len(), 2);
        assert_eq!((pairs[0].lead_id, pairs[0].member), (2, 3));
        assert_eq!(pairs[0].by, "Marketo's Salesforce link");
        assert_eq!((pairs[1].lead_id, pairs[1].member), (1, 2), "the Contact");
        assert_eq!(pairs[1].duplicates, vec!["00Q1", "00Q2"], "lowest id first");
    }

    #[test]
    fn a_member_is_paired_once_and_a_lead_without_email_or_link_stays_alone() {
        let members = vec![member("00Q1", "a@x.com")];
        let mut lonely = lead(3, "", None, None);
        lonely.email = None;
        let leads = vec![
            lead(1, "a@x.com", None, None),
            lead(2, "a@x.com", None, None),
            lonely,
        ];
        let pairs = pair(&leads, &members);
        assert_eq!(pairs.len(), 1);
        assert_eq!(pairs[0].lead_id, 1);
    }

    #[test]
    fn a_lead_marketo_links_to_someone_else_is_not_paired_by_its_address() {
        let members = vec![member("00Q3", "probe@x.com")];
        let leads = vec![
            // Linked to a Contact that is no unpaired member here (synced already, or gone).
            lead(1005, "probe@x.com", None, Some("0031")),
            lead(1006, "probe@x.com", None, None),
        ];
        let pairs = pair(&leads, &members);
        assert_eq!(pairs.len(), 1);
        assert_eq!((pairs[0].lead_id, pairs[0].by), (1006, "e-mail"));
        // Linked to a Lead not here: a Contact with the address is that Lead's better record.
        let members = vec![member("00Q3", "conv@x.com"), member("0034", "conv@x.com")];
        let leads = vec![lead(1027, "conv@x.com", Some("00QD"), None)];
        let pairs = pair(&leads, &members);
        assert_eq!(pairs.len(), 1);
        assert_eq!(
            (pairs[0].lead_id, pairs[0].member),
            (1027, 1),
            "the Contact"
        );
    }
}
