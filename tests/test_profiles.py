"""Loading, selecting and applying topic profiles."""

from __future__ import annotations

from pathlib import Path

import pytest

from arxivwatch import profiles
from arxivwatch.errors import ProfileError
from arxivwatch.models import CuratedEntry


def test_shipped_defaults() -> None:
    """The package ships the three default profiles with sections and seeds."""
    loaded = profiles.load_profiles(None)
    assert [p.name for p in loaded] == ["medical-imaging", "segmentation", "semi-supervised"]
    assert all(p.sections and p.seeds and p.top_n is None for p in loaded)


def test_entry_positive_for_several_profiles() -> None:
    """A semi-supervised medical segmentation entry is a positive of all three defaults."""
    entry = CuratedEntry(
        title="UA-MET: Uncertainty-aware Self-ensembling for SemiSup 3D Left Atrium Segmentation",
        source="w.md",
        section=("Wk8", "Biomedical Segmentation/Classification + Limited Annotation Techniques"),
    )
    assert all(profiles.is_positive(entry, p) for p in profiles.load_profiles(None))


def test_entry_of_other_section_is_not_positive() -> None:
    """An entry listed under an unrelated section with no seed in its title is no positive."""
    entry = CuratedEntry(title="Playing Atari with Deep RL", source="x", section=("Reinforcement Learning",))
    assert not any(profiles.is_positive(entry, p) for p in profiles.load_profiles(None))


def test_seed_in_title_makes_positive_outside_its_sections() -> None:
    """A seed phrase in the title labels an entry even under a foreign section."""
    entry = CuratedEntry(title="Panoptic Segmentation", source="x", section=("Models",))
    [seg] = profiles.select(profiles.load_profiles(None), ["segmentation"])
    assert profiles.is_positive(entry, seg)


def test_user_folder_replaces_defaults(tmp_path: Path) -> None:
    """A user's folder is read instead of the shipped profiles, threshold included."""
    (tmp_path / "gans.toml").write_text(
        'title = "GANs"\nsections = ["generative"]\nseeds = ["adversarial"]\nthreshold = 0.7\n'
    )
    [gans] = profiles.load_profiles(tmp_path)
    assert (gans.name, gans.title, gans.threshold) == ("gans", "GANs", 0.7)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('title = "x"\nsections = "segmentation"\n', "sections"),
        ('title = "x"\nsections = ["("]\n', "sections"),
        ('title = "x"\nsections = ["a"]\ntop_n = 0\n', "top_n"),
        ('title = "x"\nsections = ["a"]\nthreshold = 2\n', "threshold"),
        ('title = "x"\nsections = ["a"]\ncolour = "red"\n', "colour"),
    ],
)
def test_malformed_profile_names_file_and_key(tmp_path: Path, text: str, key: str) -> None:
    """A bad value raises ProfileError naming the file and the key."""
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ProfileError) as caught:
        profiles.load_profiles(tmp_path)
    assert str(path) in str(caught.value) and repr(key) in str(caught.value)


def test_bad_toml_syntax_names_file(tmp_path: Path) -> None:
    """A file that is not TOML raises ProfileError naming it."""
    (tmp_path / "broken.toml").write_text("title = \n")
    with pytest.raises(ProfileError, match=r"broken\.toml"):
        profiles.load_profiles(tmp_path)


def test_select_unknown_name_lists_known_ones() -> None:
    """Selecting an unknown profile names it and the known profiles."""
    with pytest.raises(ProfileError) as caught:
        profiles.select(profiles.load_profiles(None), ["robotics"])
    assert "'robotics'" in str(caught.value) and "segmentation" in str(caught.value)


def test_select_keeps_requested_order_and_empty_means_all() -> None:
    """select() returns the named profiles in order; no names means every profile."""
    loaded = profiles.load_profiles(None)
    picked = profiles.select(loaded, ["semi-supervised", "segmentation"])
    assert [p.name for p in picked] == ["semi-supervised", "segmentation"]
    assert profiles.select(loaded, []) == loaded


def test_seed_phrases_match_whole_words_with_endings() -> None:
    """Seeds match whole words plus plural/verb endings, never a longer word."""
    seeds = ["organ", "pseudo-label", "u-net"]
    assert profiles.matches_seeds("Multi-Organ Segmentation", seeds)
    assert profiles.matches_seeds("Pseudo-labeling with a U-Net", seeds)
    assert not profiles.matches_seeds("Organization of knowledge", seeds)
    assert profiles.count_seeds("organs, organs and a u-net", seeds) == 3
    assert profiles.count_seeds("anything", []) == 0
