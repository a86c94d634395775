"""Host latency is timed inside LiteRT's isolated process and summarised as percentiles; the
child reports its own CPU time."""

from __future__ import annotations

import pytest

from test_intmodel_ops import unary_model
from tinykws.errors import ModelFormatError
from tinykws.profile.latency import measure_latency

pytest.importorskip("ai_edge_litert.interpreter")


def test_latency_of_a_small_model_counts_every_run(tmp_path):
    path = tmp_path / "pool.tflite"
    path.write_bytes(unary_model("AVERAGE_POOL_2D", (1, 8, 8, 4), (1, 4, 4, 4), (0.05, 3), (0.05, 3),
                                 filter_height=2, filter_width=2, stride_h=2, stride_w=2, padding="VALID"))
    latency = measure_latency(path, runs=25, warmup=2)
    assert latency.runs == 25
    assert 0 < latency.p10_ms <= latency.median_ms <= latency.p90_ms
    assert "LiteRT" in latency.engine and latency.to_dict()["runs"] == 25


def test_latency_of_a_file_that_is_not_a_model_names_it(tmp_path):
    path = tmp_path / "junk.tflite"
    path.write_bytes(b"not a flatbuffer at all" * 8)
    with pytest.raises(ModelFormatError, match="junk.tflite"):
        measure_latency(path, runs=3, warmup=0)


def test_the_engine_child_reports_the_cpu_time_it_spends(tmp_path):
    from tinykws.export.engines import LiteRTEngine

    path = tmp_path / "pool.tflite"
    path.write_bytes(unary_model("AVERAGE_POOL_2D", (1, 64, 64, 8), (1, 32, 32, 8), (0.05, 3), (0.05, 3),
                                 filter_height=2, filter_width=2, stride_h=2, stride_w=2, padding="VALID"))
    engine = LiteRTEngine(path)
    try:
        before = engine.cpu_seconds()
        engine.invoke_times(runs=400, warmup=0)
        after = engine.cpu_seconds()
    finally:
        engine.close()
    assert before > 0  # importing the interpreter in the child already cost CPU time
    assert after > before
