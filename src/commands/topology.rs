//! `edgefed topology show FILE` and `edgefed topology edit FILE …`.

use std::path::Path;

use super::Outcome;
use crate::app::{self, print};
use crate::cli::{OutputFormat, TopologyCommand};
use crate::error::Error;
use crate::exit;
use crate::model::Fqdn;
use crate::settings::Settings;
use crate::topology::{ShowFormat, TopologyDocument, TopologyEdit};

/// Reads and parses a topology document.
///
/// # Errors
/// When it cannot be read or is not a published topology.
pub(crate) fn read(path: &Path) -> Result<TopologyDocument, Error> {
    let bytes = crate::fs_util::read_capped(path, crate::limits::MAX_DATA_BYTES).map_err(|e| Error::read(path, e))?;
    Ok(TopologyDocument::parse(&bytes, &path.display().to_string())?)
}

/// Runs a `topology` command.
///
/// # Errors
/// Unreadable or invalid document, unknown pool, bad argument.
pub fn run(settings: &Settings, command: &TopologyCommand) -> Outcome {
    match command {
        TopologyCommand::Show { file } => {
            let format = match settings.output.unwrap_or(OutputFormat::Yaml) {
                OutputFormat::Yaml | OutputFormat::Human => ShowFormat::Yaml,
                OutputFormat::Json => ShowFormat::Json,
                _ => return Err(Error::usage("`topology show` prints yaml or json")),
            };
            let doc = read(file)?;
            print(&crate::topology::show(doc.model(), format)?);
            Ok(exit::SUCCESS)
        }
        TopologyCommand::Edit {
            file,
            enable_sip_federation,
            disable_sip_federation,
            media_edge_pool,
            next_hop,
            out,
        } => {
            super::output_format(settings, "topology edit", &[])?;
            let mut edits = Vec::new();
            for p in disable_sip_federation {
                edits.push(TopologyEdit::DisableSipFederation {
                    edge_pool: fqdn(p, "--disable-sip-federation")?,
                });
            }
            for p in enable_sip_federation {
                edits.push(TopologyEdit::EnableSipFederation {
                    edge_pool: fqdn(p, "--enable-sip-federation")?,
                });
            }
            for pair in media_edge_pool {
                let (fe, edge) = pair_of(pair, "--media-edge-pool", "FE=EDGE")?;
                edits.push(TopologyEdit::SetMediaEdgePool {
                    front_end_pool: fe,
                    edge_pool: edge,
                });
            }
            for pair in next_hop {
                let (edge, fe) = pair_of(pair, "--next-hop", "EDGE=FE")?;
                edits.push(TopologyEdit::SetNextHop {
                    edge_pool: edge,
                    next_hop: fe,
                });
            }
            if edits.is_empty() {
                return Err(Error::usage(
                    "no edit given: use --enable-sip-federation, --disable-sip-federation, --media-edge-pool or --next-hop",
                ));
            }
            let doc = read(file)?;
            let bytes = doc.apply(&edits)?;
            match out {
                Some(path) => {
                    app::write_file(path, &bytes)?;
                    app::note(&format!("edgefed: wrote {} ({} edit(s))", path.display(), edits.len()));
                }
                None => {
                    use std::io::Write as _;
                    let mut stdout = std::io::stdout().lock();
                    stdout
                        .write_all(&bytes)
                        .and_then(|()| stdout.flush())
                        .map_err(|source| Error::Io {
                            action: "write",
                            path: "standard output".into(),
                            source,
                        })?;
                }
            }
            Ok(exit::SUCCESS)
        }
    }
}

fn fqdn(text: &str, flag: &str) -> Result<Fqdn, Error> {
    Fqdn::parse(text).map_err(|e| Error::usage(format!("{flag} {text}: {e}")))
}

fn pair_of(text: &str, flag: &str, shape: &str) -> Result<(Fqdn, Fqdn), Error> {
    let (a, b) = text
        .split_once('=')
        .ok_or_else(|| Error::usage(format!("{flag} {text}: expected {shape}")))?;
    Ok((fqdn(a, flag)?, fqdn(b, flag)?))
}
