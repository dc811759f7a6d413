//! Building the scripts sent to the Management Shell.
//!
//! A script is one statement per line (`powershell.exe -Command -` runs
//! stdin line by line, so no statement spans lines): a fixed prelude of
//! one-line helper functions, then one `Edgefed-Step '<key>' { … }` line per
//! piece of work, each wrapped in try/catch by the helper so one failure is
//! reported as that step's result with Lync's own message
//! (`$_.Exception.Message`) and the other steps still run. The results are
//! written as JSON (`ConvertTo-Json -Depth 8 -Compress`) between two marker
//! lines carrying a random per-call nonce. The markers are built by
//! concatenation at run time, so a host that echoes the script never prints
//! them: banners, warnings, progress records and echoes cannot be mistaken
//! for the result.

use std::sync::atomic::{AtomicU64, Ordering};

/// The marker prefix of the line before the JSON result.
pub const BEGIN_MARKER: &str = "EDGEFED-BEGIN-";
/// The marker prefix of the line after the JSON result.
pub const END_MARKER: &str = "EDGEFED-END-";

/// The prelude: preferences and the helper functions, one line each.
pub const PRELUDE: &[&str] = &[
    "$ErrorActionPreference = 'Stop'; $ProgressPreference = 'SilentlyContinue'; $ConfirmPreference = 'None'",
    "try { [Console]::OutputEncoding = [System.Text.Encoding]::UTF8 } catch { }",
    "if (-not (Get-Command Get-CsSite -ErrorAction SilentlyContinue)) { foreach ($m in @('SkypeForBusiness', 'Lync')) { try { Import-Module $m -ErrorAction Stop; break } catch { } } }",
    "$edgefedR = [ordered]@{}",
    "function Edgefed-Text($v) { if ($null -eq $v) { $null } elseif ($v -is [string] -or $v -is [ValueType]) { [string]$v } elseif ($v -is [System.Collections.IDictionary]) { , @($v.GetEnumerator() | ForEach-Object { [string]$_.Key + ':' + [string]$_.Value }) } elseif ($v -is [System.Collections.IEnumerable]) { , @($v | ForEach-Object { [string]$_ }) } else { [string]$v } }",
    "function Edgefed-Record([string[]]$n) { process { $h = [ordered]@{}; foreach ($p in $_.PSObject.Properties) { if (-not $n -or $n -contains $p.Name) { $h[$p.Name] = Edgefed-Text $p.Value } }; $h } }",
    "function Edgefed-Step([string]$k, [scriptblock]$b) { try { $o = @(& $b 3>&1); $edgefedR[$k] = [ordered]@{ ok = $true; value = @($o | Where-Object { $_ -isnot [System.Management.Automation.WarningRecord] }); warnings = @($o | Where-Object { $_ -is [System.Management.Automation.WarningRecord] } | ForEach-Object { $_.Message }) } } catch { $edgefedR[$k] = [ordered]@{ ok = $false; message = $_.Exception.Message } } }",
];

/// A script being built.
#[derive(Debug, Clone)]
pub struct Script {
    lines: Vec<String>,
    nonce: String,
}

impl Default for Script {
    fn default() -> Self {
        Self::new()
    }
}

impl Script {
    /// A script with the prelude and a fresh nonce.
    #[must_use]
    pub fn new() -> Self {
        Self {
            lines: PRELUDE.iter().map(|l| (*l).to_string()).collect(),
            nonce: nonce(),
        }
    }

    /// Adds a raw line (a helper definition or a comment).
    pub fn line(&mut self, line: impl Into<String>) {
        self.lines.push(line.into());
    }

    /// Adds a step: `body` runs inside try/catch; its output (warnings
    /// apart) becomes the value of `key` in the result.
    pub fn step(&mut self, key: &str, body: &str) {
        self.lines.push(format!("Edgefed-Step '{key}' {{ {body} }}"));
    }

    /// The nonce of this script's markers.
    #[must_use]
    pub fn nonce(&self) -> &str {
        &self.nonce
    }

    /// The complete script text, ending with the marked JSON result.
    #[must_use]
    pub fn finish(mut self) -> (String, String) {
        let n = &self.nonce;
        self.lines.push(format!(
            "Write-Output ('{BEGIN_MARKER}' + '{n}'); Write-Output (ConvertTo-Json -InputObject $edgefedR -Depth 8 -Compress); Write-Output ('{END_MARKER}' + '{n}')"
        ));
        let mut text = self.lines.join("\n");
        text.push('\n');
        (text, self.nonce)
    }
}

/// Extracts the JSON between the markers of `nonce` from a shell's stdout.
/// Lines before and after (banners, warnings, progress, echoes) are ignored;
/// a result wrapped over several lines is joined. A result on one line (the
/// usual case) is borrowed, not copied.
#[must_use]
pub fn extract_result<'a>(stdout: &'a str, nonce: &str) -> Option<std::borrow::Cow<'a, str>> {
    let begin = format!("{BEGIN_MARKER}{nonce}");
    let end = format!("{END_MARKER}{nonce}");
    let mut lines = stdout.lines().map(|l: &'a str| l.trim_end_matches('\r'));
    lines.by_ref().find(|l| l.trim() == begin)?;
    let first = lines.next()?;
    if first.trim() == end {
        return Some(std::borrow::Cow::Borrowed(""));
    }
    let mut json: Option<String> = None;
    for l in lines {
        if l.trim() == end {
            return Some(json.map_or(std::borrow::Cow::Borrowed(first), std::borrow::Cow::Owned));
        }
        json.get_or_insert_with(|| first.to_string()).push_str(l);
    }
    None
}

/// A fresh random nonce (hex, 32 characters).
#[must_use]
pub fn nonce() -> String {
    use sha2::{Digest, Sha256};
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let mut hasher = Sha256::new();
    hasher.update(h.finish().to_le_bytes());
    hasher.update(now.to_le_bytes());
    hasher.update(std::process::id().to_le_bytes());
    hex::encode(&hasher.finalize()[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_is_found_between_markers_despite_noise_and_echo() {
        let s = Script::new();
        let (text, n) = s.finish();
        let out = format!(
            "Windows PowerShell\r\nCopyright\r\n{text}WARNING: x\r\n{BEGIN_MARKER}{n}\r\n{{\"a\":\r\n1}}\r\n{END_MARKER}{n}\r\nPS> "
        );
        assert_eq!(extract_result(&out, &n).unwrap(), "{\"a\":1}");
        assert!(extract_result(&out, "other").is_none());
        assert!(!text.contains(&format!("{BEGIN_MARKER}{n}")));
        assert_ne!(nonce(), nonce());
    }
}
