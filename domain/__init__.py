"""The pure domain core: no I/O, no clock reads, no environment."""
