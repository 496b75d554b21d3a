"""The go-live gate: the validation clock, drills, backups, the checklist, certificates and the
staged move from paper to real money."""
