//! `campaign-sync mappings import`: the programs Marketo's native sync links to a Salesforce
//! campaign (`sfdcId` in the asset API's program browse), printed as `[[mappings]]` TOML with
//! the status pairs that match by name and, as comments, the ones that need a decision.

use std::collections::HashSet;
use std::io::Write;
use std::path::Path;

use anyhow::Context;
use figment::Figment;
use figment::providers::{Format, Toml};
use serde::Deserialize;

use crate::config::Config;
use crate::connectors::marketo::MarketoClient;
use crate::connectors::salesforce::SalesforceClient;
use crate::sync::NOT_IN_PROGRAM;

/// Prints (or, with `write`, appends to that file) one `[[mappings]]` table per linked program
/// not mapped yet, in the configuration or in the file written to.
pub async fn import(config: &Config, write: Option<&Path>) -> anyhow::Result<()> {
    let mut mapped: HashSet<i64> = config.mappings.iter().map(|m| m.program_id).collect();
    if let Some(path) = write.filter(|p| p.exists()) {
        mapped.extend(programs_mapped_in(path)?);
    }
    let salesforce = SalesforceClient::new(&config.salesforce)?;
    let marketo = MarketoClient::new(&config.marketo)?;
    // What stdout shows (each program mapped already named in a comment), and what a file
    // written to gets: the new mappings alone, so importing again adds nothing.
    let mut text = String::new();
    let mut tables = String::new();
    let mut count = 0;
    let programs = marketo.programs().await?;
    let linked = programs.iter().filter(|p| p.sfdc_id.is_some()).count();
    let already = programs
        .iter()
        .filter(|p| p.sfdc_id.is_some() && mapped.contains(&p.id))
        .count();
    // On stderr, so that the TOML printed on stdout stays a file's worth.
    eprintln!(
        "{} program(s) in Marketo, {linked} linked to a Salesforce campaign, {already} of them mapped already",
        programs.len()
    );
    if linked == 0 {
        eprintln!(
            "no program names a Salesforce campaign (sfdcId): native campaign sync links none \
             here, so there is nothing to import; write [[mappings]] by hand (see the README)"
        );
    }
    for program in programs {
        let Some(campaign) = program.sfdc_id.clone() else {
            continue;
        };
        if mapped.contains(&program.id) {
            text += &format!(
                "# program {} {:?} is mapped already\n\n",
                program.id, program.name
            );
            continue;
        }
        let statuses: Vec<String> = marketo
            .channel_statuses(&program.channel)
            .await?
            .into_iter()
            .filter(|s| !s.hidden && !s.name.eq_ignore_ascii_case(NOT_IN_PROGRAM))
            .map(|s| s.name)
            .collect();
        let labels = salesforce.campaign_statuses(&campaign).await?;
        let sfdc_name = program.sfdc_name.as_deref().unwrap_or("");
        let current = salesforce
            .campaigns(std::slice::from_ref(&campaign))
            .await?;
        let current_type = current
            .first()
            .and_then(|c| c["Type"].as_str())
            .filter(|t| !t.is_empty());
        let mapping = table(
            program.id,
            &program.name,
            &campaign,
            sfdc_name,
            &statuses,
            &labels,
        );
        let mapping = mapping.trim_end().to_string()
            + "\n"
            + &type_note(&program.channel, current_type)
            + "\n";
        text += &mapping;
        tables += &mapping;
        count += 1;
    }
    match write {
        None => print!("{text}"),
        Some(path) => {
            if count > 0 {
                let mut file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .with_context(|| format!("opening {}", path.display()))?;
                file.write_all(format!("\n{tables}").as_bytes())
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            println!("appended {count} mapping(s) to {}", path.display());
        }
    }
    Ok(())
}

/// The programs the `[[mappings]]` of the file at `path` name already, so a second import into
/// it adds no duplicate (which would make the file invalid).
fn programs_mapped_in(path: &Path) -> anyhow::Result<Vec<i64>> {
    #[derive(Deserialize)]
    struct File {
        #[serde(default)]
        mappings: Vec<Mapped>,
    }
    #[derive(Deserialize)]
    struct Mapped {
        program_id: i64,
    }
    let file: File = Figment::from(Toml::file_exact(path))
        .extract()
        .with_context(|| format!("reading the mappings already in {}", path.display()))?;
    Ok(file.mappings.into_iter().map(|m| m.program_id).collect())
}

/// One mapping: statuses present on both sides (case-insensitively) map to each other; the
/// others are listed for a decision, commented out.
pub fn table(
    program_id: i64,
    program_name: &str,
    campaign_id: &str,
    campaign_name: &str,
    statuses: &[String],
    labels: &[String],
) -> String {
    let same = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    let mut text = format!(
        "# Marketo program {program_name:?} ⇄ Salesforce campaign {campaign_name:?}\n\
         [[mappings]]\nname = {}\nprogram_id = {program_id}\ncampaign_id = {}\n",
        toml_string(&slug(program_name, program_id)),
        toml_string(campaign_id),
    );
    let renamed: Vec<(String, String)> = statuses
        .iter()
        .filter_map(|s| {
            let label = labels.iter().find(|l| same(l, s))?;
            (label != s).then(|| (s.clone(), label.clone()))
        })
        .collect();
    if !renamed.is_empty() {
        let pairs: Vec<String> = renamed
            .iter()
            .map(|(s, l)| format!("{} = {}", toml_string(s), toml_string(l)))
            .collect();
        text += &format!("status_map = {{ {} }}\n", pairs.join(", "));
    }
    let matched: Vec<&String> = statuses
        .iter()
        .filter(|s| labels.iter().any(|l| same(l, s)))
        .collect();
    text += &format!("# matched by name: {}\n", quoted(&matched));
    for status in statuses
        .iter()
        .filter(|s| !labels.iter().any(|l| same(l, s)))
    {
        text += &format!(
            "# needs a decision: Marketo status {status:?} has no campaign status; add it to \
             status_map (e.g. {} = \"<campaign status>\")\n",
            toml_string(status)
        );
    }
    for label in labels
        .iter()
        .filter(|l| !statuses.iter().any(|s| same(l, s)))
    {
        text += &format!(
            "# needs a decision: campaign status {label:?} has no Marketo status; map to it a \
             Marketo status that has no campaign status of its own (status_map), add it to the \
             program's channel, or move its members off and delete it from the campaign\n"
        );
    }
    text + "\n"
}

/// What the first settings pass will do to the campaign's Type, when it changes it: the Type
/// the campaign holds is set to the program's channel (as Marketo's sync does), so one kept by
/// hand is lost unless the channel is mapped to it (`channel_type_map`, shown commented out).
pub fn type_note(channel: &str, current: Option<&str>) -> String {
    match current {
        Some(kept) if kept == channel => String::new(),
        Some(kept) => format!(
            "# campaign Type: {kept:?} now; the first `serve` writes the program's channel \
             {channel:?} there. To keep {kept:?}, map the channel to it:\n\
             # channel_type_map = {{ {} = {} }}\n",
            toml_string(channel),
            toml_string(kept)
        ),
        None => format!(
            "# campaign Type: none now; the first `serve` writes the program's channel {channel:?}\n"
        ),
    }
}

fn quoted(names: &[&String]) -> String {
    if names.is_empty() {
        return "none".into();
    }
    names
        .iter()
        .map(|n| format!("{n:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A TOML basic string (JSON escaping is valid TOML for these characters).
fn toml_string(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}

/// A mapping name from the program name: lower-case words joined by `-`, else the id.
fn slug(name: &str, id: i64) -> String {
    let words: Vec<String> = name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    if words.is_empty() {
        id.to_string()
    } else {
        words.join("-")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use figment::providers::Format;

    #[test]
    fn matched_pairs_are_mapped_and_the_rest_named_for_a_decision() {
        let statuses = ["Invited", "registered", "Attended On-demand"].map(String::from);
        let labels = ["Invited", "Registered", "Responded"].map(String::from);
        let text = table(
            1001,
            "Webinar: Q4",
            "701A",
            "Q4 Webinar",
            &statuses,
            &labels,
        );
        assert!(text.contains("name = \"webinar-q4\"\nprogram_id = 1001\ncampaign_id = \"701A\""));
        assert!(
            text.contains("status_map = { \"registered\" = \"Registered\" }"),
            "{text}"
        );
        assert!(text.contains("Marketo status \"Attended On-demand\" has no campaign status"));
        assert!(text.contains("campaign status \"Responded\" has no Marketo status"));
        // A fix check-config accepts: never a way back shared with another label.
        assert!(!text.contains("status_map_to_marketo"), "{text}");
        #[derive(serde::Deserialize)]
        struct File {
            mappings: Vec<crate::config::MappingConfig>,
        }
        let parsed: File = figment::Figment::from(figment::providers::Toml::string(&text))
            .extract()
            .expect("a valid [[mappings]] table");
        assert_eq!(parsed.mappings[0].program_id, 1001);
        assert_eq!(parsed.mappings[0].status_map["registered"], "Registered");
    }

    #[test]
    fn a_type_the_first_pass_would_change_is_named_with_the_map_that_keeps_it() {
        assert_eq!(type_note("Webinar", Some("Webinar")), "");
        let note = type_note("Tradeshow", Some("Trade Show"));
        assert!(note.contains("\"Trade Show\" now"), "{note}");
        // Uncommented, the suggestion is a valid key of the mapping.
        let line = note.lines().last().unwrap().trim_start_matches("# ");
        let text = format!("program_id = 1\ncampaign_id = \"701A\"\nname = \"x\"\n{line}\n");
        let parsed: crate::config::MappingConfig =
            figment::Figment::from(figment::providers::Toml::string(&text))
                .extract()
                .expect("a valid mapping");
        assert_eq!(parsed.channel_type_map["Tradeshow"], "Trade Show");
        assert!(type_note("Webinar", None).contains("none now"));
    }
}
