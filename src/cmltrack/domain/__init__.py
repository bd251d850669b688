"""The pure clinical core: records in, frozen results out. No I/O, no clock, no pandas."""
