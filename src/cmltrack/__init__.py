"""cmltrack: decision support and cohort statistics for CML on tyrosine kinase inhibitors.

Decision support for clinicians and researchers, not a medical device.
"""

__version__ = "0.1.0"

DISCLAIMER = (
    "cmltrack is decision support for clinicians and researchers, not a medical device: "
    "every result must be checked against the patient and the cited sources."
)
