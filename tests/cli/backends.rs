//! End-to-end through the binary with the other systems: the PowerShell
//! backend (through the Management Shell test double) and real DNS (BIND).
