"""The configuration's limits: numbers finite and in range, categories from arXiv's taxonomy,
text that goes into headers printable ASCII, and secret keys holding variable names.

Called by config.py on the loaded sections (each a frozen dataclass), so that a `nan`
pacing interval (which passes every `<` comparison), a negative budget or a typo such as
`cs.CVV` is one ConfigError line naming the key, exit 2, before anything runs.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import fields, is_dataclass

from arxivwatch import taxonomy
from arxivwatch.errors import ConfigError

# Ranges of the numeric keys, inclusive: (section, key) -> (lowest, highest, unit, why)
RANGES: dict[tuple[str, str], tuple[float, float, str, str]] = {
    ("arxiv", "min_interval"): (3.0, 3600.0, " seconds", "arXiv asks for one request every 3 s"),
    ("arxiv", "budget"): (1.0, 86400.0, " seconds", "the time one step may spend on arXiv"),
    ("arxiv", "max_body_bytes"): (1e6, 2e9, " bytes", "the largest answer accepted, inflated"),
    ("digest", "top_n"): (1, 1000, "", "papers per profile in a digest"),
    ("digest", "min_score"): (0.0, 1.0, "", "a score is a probability"),
    ("email", "port"): (1, 65535, "", "a TCP port"),
    ("storage", "keep_days"): (0, 36600, " days", "how long unseen papers are kept; 0 keeps every one"),
}


def check_ranges(source: str, sections: Mapping[str, object]) -> None:
    """Every key in RANGES finite and within its range; `sections` maps "arxiv" to ArxivConfig etc."""
    for (section, key), (low, high, unit, why) in RANGES.items():
        value = getattr(sections[section], key)
        if value is None or low <= value <= high:
            continue
        if not math.isfinite(value):
            raise ConfigError(
                f"{source}: [{section}] {key} must be a finite number, got {value!r}",
                hint=f"{why}; fix its value",
            )
        bound = f"at least {low:g}{unit}" if value < low else f"at most {high:g}{unit}"
        raise ConfigError(
            f"{source}: [{section}] {key} must be {bound}, got {value!r}", hint=f"{why}; fix its value"
        )


def check_finite(source: str, sections: Mapping[str, object]) -> None:
    """Every float in every section finite (nan and inf pass TOML and `<` comparisons alike)."""
    for name, section in sections.items():
        if not is_dataclass(section):
            continue
        for f in fields(section):
            value = getattr(section, f.name)
            if isinstance(value, float) and not math.isfinite(value):
                raise ConfigError(
                    f"{source}: [{name}] {f.name} must be a finite number, got {value!r}",
                    hint="fix its value",
                )


def check_categories(source: str, categories: tuple[str, ...]) -> None:
    """Categories present, each once, each a code in arXiv's taxonomy."""
    if not categories:
        raise ConfigError(f"{source}: [arxiv] categories is empty", hint="name at least one, e.g. cs.CV")
    unknown = taxonomy.unknown(categories)
    if unknown:
        near = taxonomy.closest(unknown[0])
        more = f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""
        raise ConfigError(
            f"{source}: [arxiv] categories: {unknown[0]!r} is not an arXiv category{more}",
            hint=(f"did you mean {near!r}? " if near else "") + "see https://arxiv.org/category_taxonomy",
        )
    repeated = next((c for i, c in enumerate(categories) if c in categories[:i]), None)
    if repeated:
        raise ConfigError(f"{source}: [arxiv] categories lists {repeated} twice", hint="list each once")


_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
SECRET_NAME_KEYS = (("email", "password_env"), ("slack", "token_env"), ("slack", "webhook_url_env"))


def check_text(source: str, sections: Mapping[str, object]) -> None:
    """`[arxiv] contact` printable ASCII (it goes into the User-Agent header), and each key
    naming a secret's variable a variable name; that value is never echoed, since it is most
    likely the secret itself pasted in by mistake."""
    contact = str(getattr(sections["arxiv"], "contact", ""))
    if any(not " " <= c <= "~" for c in contact):
        raise ConfigError(
            f"{source}: [arxiv] contact {contact!r} has characters an HTTP header cannot carry",
            hint="use a plain ASCII e-mail address like lab@example.org (it goes into the User-Agent)",
        )
    for section, key in SECRET_NAME_KEYS:
        name = str(getattr(sections[section], key, ""))
        if name and not _VARIABLE_NAME.fullmatch(name):
            raise ConfigError(
                f"{source}: [{section}] {key} must be the NAME of an environment variable "
                "(letters, digits and _), not the secret itself",
                hint="put the secret in a variable (e.g. in arxivwatch.env) and give its name here",
            )
