"""The install recipe (Makefile) gives the libraries the harness relies on, at working versions."""
import importlib


def test_core_libraries_import():
    for name in ["torch", "lightning", "gin", "sklearn", "pandas", "mir_eval", "soundfile", "madmom", "pretty_midi"]:
        importlib.import_module(name)


def test_soundfile_can_write_mp3():
    import soundfile as sf

    assert "MP3" in sf.available_formats(), "libsndfile bundled with soundfile must write MP3 (MTAT layout)"


def test_ci_runs_the_readme_test_command():
    from helpers import ROOT

    assert "make test" in (ROOT / ".ci" / "run").read_text()
