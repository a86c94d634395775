"""`tinykws profile` input errors (no toolchain needed)."""

from __future__ import annotations

from tinykws.cli.main import main


def test_profile_rejects_what_is_not_a_model(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("hello")
    assert main(["profile", str(tmp_path / "notes.txt")]) == 2
    assert "not an int8 .tflite" in capsys.readouterr().err
    assert main(["profile", str(tmp_path), "--board", "esp32"]) == 2
    assert "unknown board 'esp32'" in capsys.readouterr().err
