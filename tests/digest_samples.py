"""Hand-made papers, profiles and scores for the digest, render and delivery tests.

The titles, authors and abstract openings are those of real arXiv papers; the
announcement dates and scores are invented so the digest covers one known week.
"""

from __future__ import annotations

from datetime import date

from arxivwatch import digest
from arxivwatch.models import Digest, Paper, Profile, Score

TODAY = date(2024, 11, 28)  # a Thursday; the week covers 2024-11-22 .. 2024-11-28

PROFILES = (
    Profile("segmentation", "Segmentation", "Semantic, instance and promptable segmentation."),
    Profile("semi-supervised", "Semi-supervised learning", categories=("cs.LG", "cs.CV")),
    Profile("medical-imaging", "Medical imaging", categories=("eess.IV", "cs.CV")),
)
THRESHOLDS = {"segmentation": 0.5, "semi-supervised": 0.5, "medical-imaging": 0.5}


def paper(pid: str, title: str, **kw: object) -> Paper:
    """A paper announced on TODAY unless told otherwise, with arXiv links."""
    fields: dict[str, object] = {
        "announced": TODAY,
        "abs_url": f"https://arxiv.org/abs/{pid}",
        "pdf_url": f"https://arxiv.org/pdf/{pid}",
        "categories": ("cs.CV",),
        "primary_category": "cs.CV",
    }
    fields.update(kw)
    return Paper(pid, title, **fields)  # type: ignore[arg-type]


PAPERS = (
    paper(
        "1505.04597",
        "U-Net: Convolutional Networks for Biomedical Image Segmentation",
        authors=("Olaf Ronneberger", "Philipp Fischer", "Thomas Brox"),
        categories=("cs.CV",),
        abstract=(
            "There is large consent that successful training of deep networks requires many "
            "thousand annotated training samples. In this paper, we present a network and "
            "training strategy that relies on the strong use of data augmentation to use the "
            "available annotated samples more efficiently. The architecture consists of a "
            "contracting path to capture context and a symmetric expanding path."
        ),
    ),
    paper(
        "2304.02643",
        "Segment Anything",
        authors=(
            "Alexander Kirillov",
            "Eric Mintun",
            "Nikhila Ravi",
            "Hanzi Mao",
            "Chloe Rolland",
            "Laura Gustafson",
        ),
        categories=("cs.CV", "cs.AI", "cs.LG"),
        announced=date(2024, 11, 25),
        abstract=(
            "We introduce the Segment Anything (SA) project: a new task, model, and dataset "
            "for image segmentation. Using our efficient model in a data collection loop, we "
            "built the largest segmentation dataset to date (by far), with over 1 billion "
            "masks on 11M licensed and privacy respecting images."
        ),
    ),
    paper(
        "2001.07685",
        "FixMatch: Simplifying Semi-Supervised Learning with Consistency and Confidence",
        authors=(
            "Kihyuk Sohn",
            "David Berthelot",
            "Chun-Liang Li",
            "Zizhao Zhang",
            "Nicholas Carlini",
        ),
        categories=("cs.LG", "cs.CV", "stat.ML"),
        primary_category="cs.LG",
        announced=date(2024, 11, 26),
        abstract=(
            "Semi-supervised learning (SSL) provides an effective means of leveraging "
            "unlabeled data to improve a model's performance. In this paper, we demonstrate "
            "the power of a simple combination of two common SSL methods: consistency "
            "regularization and pseudo-labeling."
        ),
    ),
    paper(
        "1809.10486",
        "nnU-Net: Self-adapting Framework for U-Net-Based Medical Image Segmentation",
        authors=("Fabian Isensee", "Jens Petersen", "Andre Klein", "David Zimmerer"),
        categories=("cs.CV",),
        announced=date(2024, 11, 27),
        abstract=(
            "The U-Net was presented in 2015. With its straight-forward and successful "
            "architecture it quickly evolved to a commonly used benchmark in medical image "
            "segmentation."
        ),
    ),
    paper(
        "1703.01780",
        "Mean teachers are better role models: Weight-averaged consistency targets improve "
        "semi-supervised deep learning results",
        authors=("Antti Tarvainen", "Harri Valpola"),
        categories=("cs.NE", "cs.LG", "stat.ML"),
        primary_category="cs.NE",
        abstract=(
            "The recently proposed Temporal Ensembling has achieved state-of-the-art results "
            "in several semi-supervised learning benchmarks. It maintains an exponential "
            "moving average of label predictions on each training example."
        ),
    ),
    paper(
        "2411.00001",
        "A Survey of Graph Neural Networks for Traffic Forecasting",
        authors=("Someone Else",),
        categories=("cs.LG",),
        abstract="We survey graph neural networks for traffic forecasting.",
    ),
)


def s(pid: str, profile: str, value: float, *reasons: str) -> Score:
    """A score with reasons."""
    return Score(pid, profile, value, reasons)


SCORES: dict[str, dict[str, Score]] = {
    "1505.04597": {
        "segmentation": s(
            "1505.04597",
            "segmentation",
            0.93,
            "segmentation",
            "u-net",
            "like: Fully Convolutional Networks for Semantic Segmentation",
        ),
        "medical-imaging": s("1505.04597", "medical-imaging", 0.81, "biomedical", "microscopy"),
        "semi-supervised": s("1505.04597", "semi-supervised", 0.12),
    },
    "2304.02643": {
        "segmentation": s(
            "2304.02643",
            "segmentation",
            0.88,
            "segmentation",
            "masks",
            "promptable",
            "like: Mask R-CNN",
        ),
        "semi-supervised": s("2304.02643", "semi-supervised", 0.31),
    },
    "2001.07685": {
        "semi-supervised": s(
            "2001.07685", "semi-supervised", 0.95, "pseudo-labeling", "consistency", "like: Pseudo-Label"
        ),
        "segmentation": s("2001.07685", "segmentation", 0.22),
    },
    "1809.10486": {
        "medical-imaging": s(
            "1809.10486",
            "medical-imaging",
            0.9,
            "medical",
            "u-net",
            "like: UNet++: A Nested U-Net Architecture",
        ),
        "segmentation": s("1809.10486", "segmentation", 0.86, "segmentation"),
    },
    "1703.01780": {
        "semi-supervised": s("1703.01780", "semi-supervised", 0.77, "consistency", "semi-supervised"),
        "medical-imaging": s("1703.01780", "medical-imaging", 0.7),  # wrong categories
    },
    "2411.00001": {"semi-supervised": s("2411.00001", "semi-supervised", 0.1)},
}


def sample_digest(channel: str = "email", period: str = "week") -> Digest:
    """The digest of the sample week: two segmentation papers, two semi-supervised, one medical."""
    start, end = digest.period_bounds(period, TODAY)
    return digest.select(
        PAPERS, SCORES, PROFILES, THRESHOLDS, period=period, start=start, end=end, channel=channel
    )


def empty_digest(channel: str = "email") -> Digest:
    """A week where nothing passed: 812 papers scanned."""
    start, end = digest.period_bounds("week", TODAY)
    return Digest("week", start, end, channel, (), scanned=812)


def big_digest(n: int = 60, channel: str = "slack") -> Digest:
    """A digest with `n` segmentation papers, enough to need several Slack messages."""
    papers = [
        paper(f"2411.{i:05d}", f"Paper number {i} on segmentation", authors=("A. Author",))
        for i in range(1, n + 1)
    ]
    scores = {
        p.id: {"segmentation": s(p.id, "segmentation", 0.99 - i / 1000, "segmentation")}
        for i, p in enumerate(papers)
    }
    profiles = (Profile("segmentation", "Segmentation", top_n=n),)
    start, end = digest.period_bounds("week", TODAY)
    return digest.select(papers, scores, profiles, {}, period="week", start=start, end=end, channel=channel)


def maximal_digest(n: int = 50, letter: str = "x", channel: str = "slack") -> Digest:
    """A digest of `n` papers whose every shown text is as long as rendering lets it be: titles,
    authors, reasons and profile titles far past their caps, each paper matching all three
    profiles (so it carries badges), words made of `letter` (an astral one weighs 4 bytes)."""
    word = letter * 9
    profiles = tuple(Profile(p.name, f"{p.title} {word} " * 60, top_n=n) for p in PROFILES)
    papers = [
        paper(
            f"2411.{i:05d}",
            f"Paper {i} {word} " * 80,
            authors=tuple(f"{word}{k} {word}-{word}" for k in range(300)),
            categories=tuple(f"cs.{word}{k}" for k in range(40)),
        )
        for i in range(1, n + 1)
    ]
    reasons = (*(f"{word}{k}" for k in range(150)), f"like: {word} " * 80)
    scores = {
        p.id: {
            profile.name: s(p.id, profile.name, 0.9 - (i + j) % 3 / 10 - i / 1000, *reasons)
            for j, profile in enumerate(profiles)
        }
        for i, p in enumerate(papers)
    }
    start, end = digest.period_bounds("week", TODAY)
    return digest.select(papers, scores, profiles, {}, period="week", start=start, end=end, channel=channel)
