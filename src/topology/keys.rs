//! Interned document values and the keys built from them: a `ServiceId`
//! (SiteId, RoleName, Instance) and a `ClusterId` (SiteId, Number) are a few
//! bytes and `Copy`, so a 10,000-pool index stays small.

use std::collections::HashMap;

/// A short value of the document (`SiteId`, `RoleName`, `Instance`,
/// `Number`), interned: keys are then a few bytes and `Copy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Sym(u32);

/// The EdgeServer role (interned first).
pub(crate) const EDGE_ROLE: Sym = Sym(0);
/// The Registrar role.
pub(crate) const REGISTRAR_ROLE: Sym = Sym(1);
/// The Front End services whose dependency on an EdgeServer is the media association.
pub(crate) const MEDIA_ROLES: [Sym; 3] = [Sym(1), Sym(2), Sym(3)];
const SEEDED: [&str; 4] = ["EdgeServer", "Registrar", "ConfServices", "MediationServer"];

/// The interned values of one document.
#[derive(Clone, Debug)]
pub(crate) struct Interner {
    names: Vec<Box<str>>,
    ids: HashMap<Box<str>, Sym>,
}

impl Default for Interner {
    fn default() -> Self {
        let mut i = Self {
            names: Vec::new(),
            ids: HashMap::new(),
        };
        for s in SEEDED {
            i.intern(s);
        }
        i
    }
}

impl Interner {
    pub(crate) fn intern(&mut self, s: &str) -> Sym {
        if let Some(sym) = self.ids.get(s) {
            return *sym;
        }
        let sym = Sym(u32::try_from(self.names.len()).unwrap_or(u32::MAX));
        self.names.push(s.into());
        self.ids.insert(s.into(), sym);
        sym
    }

    /// The symbol of `s`, if the document has it.
    pub fn lookup(&self, s: &str) -> Option<Sym> {
        self.ids.get(s).copied()
    }

    /// The text of `sym`.
    pub fn name(&self, sym: Sym) -> &str {
        self.names.get(sym.0 as usize).map_or("", |b| b)
    }
}

/// `ServiceId`: (SiteId, RoleName, Instance), as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct ServiceKey {
    pub site: Sym,
    pub role: Sym,
    pub instance: Sym,
}

/// `ClusterId`: (SiteId, Number), as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct ClusterKey {
    pub site: Sym,
    pub number: Sym,
}
