"""Acute myeloid leukemia on imatinib combinations (aml spec): genetic risk, response, MRD,
events, endpoints and trial protocols. Pure functions of a record; no I/O, no clock."""
