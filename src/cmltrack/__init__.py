"""cmltrack: decision support and cohort statistics for CML on tyrosine kinase inhibitors.

Decision support for clinicians and researchers, not a medical device.
"""

__version__ = "0.1.0"

DISCLAIMER = (
    "cmltrack is decision support for clinicians and researchers, not a medical device: "
    "every result must be checked against the patient and the cited sources."
)


#: The public surface at the top of the package, imported on first use so that ``import
#: cmltrack`` stays light (no pydantic models, pandas or matplotlib until they are needed).
_API: dict[str, tuple[str, str | None]] = {
    "read_records": ("cmltrack.io", "read_records"),
    "load_records": ("cmltrack.io", "load_records"),
    "assess": ("cmltrack.domain.assess", "assess"),
    "AssessOptions": ("cmltrack.domain.options", "AssessOptions"),
    "Guideline": ("cmltrack.domain.enums", "Guideline"),
    "PatientRecord": ("cmltrack.domain.records", "PatientRecord"),
    "endpoints": ("cmltrack.stats.tables", "derive_cohort_tables"),
    "generate_cohort": ("cmltrack.synth", "generate_cohort"),
    "stats": ("cmltrack.stats", None),
    "plots": ("cmltrack.plots", None),
    "synth": ("cmltrack.synth", None),
}

__all__ = ["DISCLAIMER", "__version__", *_API]


def __getattr__(name: str) -> object:
    """``cmltrack.read_records``, ``cmltrack.assess``, ``cmltrack.endpoints`` (ADTTE and
    baseline tables), ``cmltrack.stats``, ``cmltrack.plots``, ``cmltrack.synth``:

    Examples:
        >>> import cmltrack
        >>> records = cmltrack.load_records("examples/patients/patients.json")
        >>> a = cmltrack.assess(records[0])
        >>> str(a.current.status)
        'optimal'
        >>> adtte, baseline = cmltrack.endpoints(records[:3])
        >>> sorted(set(adtte.PARAMCD))[:3]
        ['DURMMR', 'EFS', 'OS']
        >>> km = cmltrack.stats.kaplan_meier(adtte[adtte.PARAMCD == "OS"].AVAL, [0, 0, 0])
        >>> km.groups[0].n
        3
    """
    import importlib

    if name not in _API:
        raise AttributeError(f"module 'cmltrack' has no attribute {name!r}")
    module, attr = _API[name]
    mod = importlib.import_module(module)
    return mod if attr is None else getattr(mod, attr)
