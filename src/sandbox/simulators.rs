//! `campaign-sync simulators`: both simulators without the service, seeded with mapped programs
//! and campaigns whose people are already members on both sides, so any deployment of the
//! service can be pointed at them and tested from outside through their control endpoints.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use crate::sim::marketo::MarketoSim;
use crate::sim::salesforce::{SalesforceSim, SalesforceSimConfig};

use super::describe::Simulators;
use super::seed::{self, Amounts};
use super::{marketo_config, salesforce_config};

pub struct SimulatorsOptions {
    pub listen_salesforce: SocketAddr,
    pub listen_marketo: SocketAddr,
    /// The generic login host's stand-in; a free port beside Salesforce's when `None`.
    pub listen_salesforce_login: Option<SocketAddr>,
    /// Write the JSON description (URLs, credentials, mappings, people) here.
    pub describe: Option<PathBuf>,
    /// Mapped program/campaign pairs to seed.
    pub programs: usize,
    /// People to seed, each a member of every mapping on both sides.
    pub people: usize,
}

/// Starts, seeds, describes and serves both simulators until `shutdown` is cancelled.
pub async fn run_simulators(
    options: SimulatorsOptions,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    // No outbound endpoint until `POST /__sim/outbound-endpoint`: notifications wait.
    let config = SalesforceSimConfig {
        generic_login_address: options.listen_salesforce_login,
        ..salesforce_config("")
    };
    let salesforce = SalesforceSim::spawn_on(config, options.listen_salesforce)
        .await
        .with_context(|| match options.listen_salesforce_login {
            Some(login) => format!(
                "starting Salesforce on {} (its generic login host on {login})",
                options.listen_salesforce
            ),
            None => format!("starting Salesforce on {}", options.listen_salesforce),
        })?;
    let marketo = MarketoSim::spawn_on(marketo_config(), options.listen_marketo)
        .await
        .with_context(|| format!("starting Marketo on {}", options.listen_marketo))?;
    let amounts = Amounts {
        programs: options.programs,
        people: options.people,
        members_everywhere: true,
    };
    let Some(demo) = seed::seed(&salesforce, &marketo, amounts, &shutdown)? else {
        return Ok(());
    };
    let description = Simulators::new(&salesforce, &marketo, &demo);
    if let Some(path) = &options.describe {
        std::fs::write(path, serde_json::to_vec_pretty(&description)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    println!(
        "Salesforce simulator listening on {}\nMarketo simulator listening on {}\n\
         seeded {} mapping(s) and {} people; control endpoints under /__sim/ (see the README)",
        salesforce.base_url(),
        marketo.base_url(),
        demo.mappings.len(),
        demo.people.len(),
    );
    shutdown.cancelled().await;
    drop((salesforce, marketo));
    Ok(())
}
