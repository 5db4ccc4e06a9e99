"""Frame-time convention, beat targets, interpolation to 100 fps and beat post-processing (DBN, peak picking)."""
import numpy as np
import pytest

from probes import beat_tracking as bt
from probes.beat_tracking import (beat_targets, dbn_beats, frame_times, interpolate_activation,
                                  peak_pick_beats)
from probes.metrics import beat_metrics


def test_frame_times_conventions():
    np.testing.assert_allclose(frame_times(3, 25.0, "start"), [0.0, 0.04, 0.08])
    np.testing.assert_allclose(frame_times(3, 25.0, "centre"), [0.02, 0.06, 0.10])
    np.testing.assert_allclose(frame_times(2, 15.625), [0.032, 0.096])  # default: centre
    with pytest.raises(ValueError):
        frame_times(3, 25.0, "middle")


def test_beat_targets_nearest_frame_and_widening():
    fps = 10.0
    # centre convention: frame n spans [n/10, (n+1)/10); a beat at 0.55 s lies in frame 5, at 0.99 s in frame 9
    y = beat_targets([0.55, 0.99], 12, fps)
    expect = np.zeros(12, np.float32)
    expect[[4, 6, 8, 10]] = 0.5
    expect[[5, 9]] = 1.0
    np.testing.assert_array_equal(y, expect)
    # start convention: nearest frame start (0.55 → frame 6 on the midpoint tie goes to the later frame)
    assert np.flatnonzero(beat_targets([0.55, 0.99], 12, fps, convention="start") == 1).tolist() == [6, 10]
    # widening never lowers a beat frame; neighbours of two adjacent beats; edges clipped; out-of-range dropped
    y = beat_targets([0.0, 0.15, 5.0, -1.0], 4, fps, widen=1, widen_weight=0.5)
    np.testing.assert_array_equal(y, [1.0, 1.0, 0.5, 0.0])
    assert beat_targets([], 5, fps).tolist() == [0.0] * 5
    assert beat_targets([0.35], 8, fps, widen=2, widen_weight=0.25).tolist() == [0, 0.25, 0.25, 1, 0.25, 0.25, 0, 0]


def test_interpolate_activation_time_axis():
    eps = 15.625
    act = np.zeros(40)
    act[10] = 1.0  # frame 10: centre at 10.5 / 15.625 = 0.672 s
    out = interpolate_activation(act, eps, 100)
    assert out.shape == (int(np.ceil(40 / eps * 100)),)
    assert np.argmax(out) == round(10.5 / eps * 100)
    start = interpolate_activation(act, eps, 100, convention="start")
    assert np.argmax(start) == round(10 / eps * 100)
    # linear in between source samples, edges held, explicit duration, (T, C) input
    ramp = interpolate_activation(np.array([0.0, 1.0]), 10.0, 100, convention="start")
    np.testing.assert_allclose(ramp[:11], np.linspace(0, 1, 11))
    assert ramp[-1] == 1.0
    assert interpolate_activation(act, eps, 100, duration_s=3.0).shape == (300,)
    two = interpolate_activation(np.stack([act, 1 - act], axis=1), eps, 100)
    np.testing.assert_allclose(two[:, 0] + two[:, 1], 1.0)


def _click_activation(period_s=0.5, dur_s=30.0, fps=100, width_s=0.02, offset_s=0.25):
    t = np.arange(int(dur_s * fps)) / fps
    beats = np.arange(offset_s, dur_s, period_s)
    act = np.max(np.exp(-0.5 * ((t[:, None] - beats[None]) / width_s) ** 2), axis=1)
    return 0.02 + 0.9 * act, beats


def test_dbn_and_peak_picking_on_120_bpm():
    act, ref = _click_activation()
    for est in (dbn_beats(act, fps=100), peak_pick_beats(act, fps=100)):
        assert len(est) > 50
        np.testing.assert_allclose(np.diff(est), 0.5, atol=0.011)
        m = beat_metrics([ref], [est])
        assert m["f_measure"] > 0.99 and m["f_measure_pooled"] > 0.97 and m["cmlt"] > 0.95


def test_dbn_processor_is_cached_and_handles_edge_inputs():
    bt._dbn_processor.cache_clear()
    act, _ = _click_activation(dur_s=10.0)
    dbn_beats(act)
    dbn_beats(act)
    assert bt._dbn_processor.cache_info().hits >= 1 and bt._dbn_processor.cache_info().currsize == 1
    assert dbn_beats(np.zeros(0)).size == 0
    binary = np.zeros(1000)
    binary[25::50] = 1.0  # exact 0/1 activations are clipped, so the Viterbi path stays finite
    np.testing.assert_allclose(np.diff(dbn_beats(binary)), 0.5, atol=0.011)


def test_peak_picking_threshold_and_min_interval():
    act = np.zeros(300)
    act[[50, 60, 150, 250]] = [0.9, 0.8, 0.4, 0.7]
    np.testing.assert_allclose(peak_pick_beats(act, fps=100), [0.5, 2.5])  # 60 is < 0.279 s after 50; 150 < 0.5
    np.testing.assert_allclose(peak_pick_beats(act, fps=100, threshold=0.3, min_interval_s=0.05),
                               [0.5, 0.6, 1.5, 2.5])
    assert peak_pick_beats(np.zeros(0)).size == 0


def test_targets_to_activation_round_trip_is_within_half_a_frame():
    eps = 15.625
    ref = np.arange(0.37, 20, 0.52)
    n = int(np.ceil(20 * eps))
    y = beat_targets(ref, n, eps, widen=0)
    est = peak_pick_beats(interpolate_activation(y, eps, 100, duration_s=20.0), fps=100)
    assert len(est) == len(ref)
    assert np.max(np.abs(est - ref)) <= 0.5 / eps + 0.01
