//! The sObject types the simulator holds and their fields: which a client may set on create,
//! which on update, which are required, and which are only read.

use serde::Serialize;

use super::ids::prefix;

/// What a writable field holds, which decides the JSON values a write may give it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// Text, picklist or id: a JSON string.
    Text(&'static str),
    Boolean,
    /// `currency(18,0)`: a number (or numeric text) of at most 18 whole digits.
    Currency,
    /// A 32-bit integer.
    Int,
    /// `YYYY-MM-DD`.
    Date,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Kind {
    Lead,
    Contact,
    Campaign,
    CampaignMemberStatus,
    CampaignMember,
}

/// Fields every record carries, maintained by the org, never written by clients.
const AUDIT: &[&str] = &[
    "Id",
    "IsDeleted",
    "CreatedDate",
    "LastModifiedDate",
    "SystemModstamp",
];

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Lead,
        Kind::Contact,
        Kind::Campaign,
        Kind::CampaignMemberStatus,
        Kind::CampaignMember,
    ];

    /// sObject names are case-insensitive in URLs and SOQL, as in Salesforce.
    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL
            .into_iter()
            .find(|kind| kind.name().eq_ignore_ascii_case(name))
    }

    pub fn of_id(id: &str) -> Option<Kind> {
        Kind::ALL
            .into_iter()
            .find(|kind| id.starts_with(kind.prefix()))
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Lead => "Lead",
            Kind::Contact => "Contact",
            Kind::Campaign => "Campaign",
            Kind::CampaignMemberStatus => "CampaignMemberStatus",
            Kind::CampaignMember => "CampaignMember",
        }
    }

    pub fn prefix(self) -> &'static str {
        match self {
            Kind::Lead => prefix::LEAD,
            Kind::Contact => prefix::CONTACT,
            Kind::Campaign => prefix::CAMPAIGN,
            Kind::CampaignMemberStatus => prefix::CAMPAIGN_MEMBER_STATUS,
            Kind::CampaignMember => prefix::CAMPAIGN_MEMBER,
        }
    }

    /// Fields a create may set.
    pub fn creatable(self) -> &'static [&'static str] {
        match self {
            Kind::Lead => &[
                "FirstName",
                "LastName",
                "Company",
                "Email",
                "Title",
                "Phone",
                "Status",
                "LeadSource",
            ],
            Kind::Contact => &[
                "FirstName",
                "LastName",
                "Email",
                "Title",
                "Phone",
                "LeadSource",
            ],
            Kind::Campaign => &[
                "Name",
                "Type",
                "Status",
                "IsActive",
                "ActualCost",
                "BudgetedCost",
                "StartDate",
                "EndDate",
                "Description",
                "ParentId",
            ],
            Kind::CampaignMemberStatus => &[
                "CampaignId",
                "Label",
                "IsDefault",
                "HasResponded",
                "SortOrder",
            ],
            Kind::CampaignMember => &["CampaignId", "LeadId", "ContactId", "Status"],
        }
    }

    /// Fields an update may set: the creatable ones minus the immutable references.
    pub fn updatable(self) -> impl Iterator<Item = &'static str> {
        let immutable: &[&str] = match self {
            Kind::CampaignMember => &["CampaignId", "LeadId", "ContactId"],
            Kind::CampaignMemberStatus => &["CampaignId"],
            _ => &[],
        };
        self.creatable()
            .iter()
            .copied()
            .filter(move |field| !immutable.contains(field))
    }

    pub fn required(self) -> &'static [&'static str] {
        match self {
            Kind::Lead => &["LastName", "Company"],
            Kind::Contact => &["LastName"],
            Kind::Campaign => &["Name"],
            Kind::CampaignMemberStatus => &["CampaignId", "Label"],
            Kind::CampaignMember => &["CampaignId"],
        }
    }

    /// The type of a creatable field, as Salesforce's JSON parser reads it.
    pub fn field_type(self, field: &str) -> FieldType {
        match (self, field) {
            (Kind::Campaign, "IsActive")
            | (Kind::CampaignMemberStatus, "IsDefault" | "HasResponded") => FieldType::Boolean,
            (Kind::Campaign, "ActualCost" | "BudgetedCost") => FieldType::Currency,
            (Kind::Campaign, "StartDate" | "EndDate") => FieldType::Date,
            (Kind::CampaignMemberStatus, "SortOrder") => FieldType::Int,
            (_, "Status" | "Type" | "LeadSource") => FieldType::Text("picklist"),
            (_, "CampaignId" | "LeadId" | "ContactId" | "ParentId") => FieldType::Text("reference"),
            (Kind::Campaign, "Description") => FieldType::Text("textarea"),
            _ => FieldType::Text("string"),
        }
    }

    /// Read-only fields beyond the audit ones: derived by the org or mirrored from a person.
    fn derived(self) -> &'static [&'static str] {
        match self {
            Kind::Lead => &["IsConverted", "ConvertedContactId", "Name"],
            Kind::Contact => &["Name"],
            Kind::Campaign => &["NumberOfLeads", "NumberOfContacts", "NumberOfResponses"],
            Kind::CampaignMemberStatus => &[],
            Kind::CampaignMember => &[
                "HasResponded",
                "FirstRespondedDate",
                "LeadOrContactId",
                "Email",
                "FirstName",
                "LastName",
                "Name",
                "CompanyOrAccount",
            ],
        }
    }

    /// Every readable field, in the order a GET lists them.
    pub fn readable(self) -> impl Iterator<Item = &'static str> {
        AUDIT
            .iter()
            .chain(self.creatable())
            .chain(self.derived())
            .copied()
    }

    /// The canonical spelling of a field name, matched case-insensitively like Salesforce.
    pub fn field(self, name: &str) -> Option<&'static str> {
        self.readable()
            .find(|field| field.eq_ignore_ascii_case(name))
    }
}
